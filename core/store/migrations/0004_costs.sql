-- What the cost and capacity exporter (issue 3) needs beyond WS-257.

-- A billing source replaces its days in one statement:
-- DELETE ... WHERE source = $1 AND cost_date = ANY($2).
CREATE INDEX cost_tracking_source_date ON cost_tracking (source, cost_date);
