-- Money exact to the source's last digit (issue 12).
--
-- numeric(18, 6) rounded every line to micro-dollars: a FOCUS line of
-- 0.0000000123 was stored as 0, and the sums drifted from the invoice.
-- Unconstrained numeric keeps every digit a source sends. Dropping the
-- typmod changes no stored value (an old row written as 1.500000 still
-- reads 1.500000); the bound on what a line may hold is store.CheckAmount,
-- applied before every write. (The stored generated column below rewrites
-- the table once, under its lock: daily rows, a small table.)
ALTER TABLE cost_tracking
    ALTER COLUMN cost_amount TYPE numeric,
    ALTER COLUMN usage_quantity TYPE numeric;

-- FOCUS allows a negative amount on every charge category (refunds and
-- corrections are negative Usage, Purchase or Tax rows): the sign CHECK
-- refused them, and a provider's total came out high. The constraint was
-- written without a name; it is found by what it says, and exactly one
-- must match.
DO $$
DECLARE
    c text;
BEGIN
    SELECT conname INTO STRICT c FROM pg_constraint
    WHERE conrelid = 'cost_tracking'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%cost_amount >=%';
    EXECUTE format('ALTER TABLE cost_tracking DROP CONSTRAINT %I', c);
END $$;

-- FOCUS ChargeClass: 'Correction' marks a correction to a previously
-- invoiced billing period ('' when null). It and the sign are part of the
-- line's key, so a refund (a negative line, corrections and reversals
-- within the period alike) is kept beside the usage it corrects, not
-- netted into it before anyone saw it: the totals net it, the refunds
-- figure shows it.
ALTER TABLE cost_tracking ADD COLUMN charge_class text NOT NULL DEFAULT ''
    CONSTRAINT cost_tracking_charge_class_check CHECK (charge_class IN ('', 'Correction'));
ALTER TABLE cost_tracking ADD COLUMN negative boolean GENERATED ALWAYS AS (cost_amount < 0) STORED;

DO $$
DECLARE
    c text;
BEGIN
    SELECT conname INTO STRICT c FROM pg_constraint
    WHERE conrelid = 'cost_tracking'::regclass AND contype = 'u';
    EXECUTE format('ALTER TABLE cost_tracking DROP CONSTRAINT %I', c);
END $$;
-- One row per day and cost line: re-running a day replaces, never duplicates.
ALTER TABLE cost_tracking ADD CONSTRAINT cost_tracking_line_key
    UNIQUE (cost_date, source, service_name, resource_type, resource_id, charge_category, charge_class, negative, team, feature);
