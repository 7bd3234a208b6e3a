-- The 50 most recent property changes, newest first, with the value and its unit before and after.
-- A 442 kg -> 0.442 t edit shows the change of unit, not a bare change of value.
WITH versions AS (
    SELECT
        h.id,
        h.name,
        h._change,
        h._valid_from,
        LAG(h.value) OVER earlier AS value_before,
        LAG(h.value_unit) OVER earlier AS unit_before,
        h.value AS value_after,
        h.value_unit AS unit_after
    FROM poelis.properties_history AS h
    WINDOW earlier AS (PARTITION BY h.id ORDER BY h._valid_from)
)
SELECT
    id AS property_id,
    name AS property_name,
    _change AS change,
    _valid_from AS changed_at,
    value_before,
    unit_before,
    value_after,
    unit_after
FROM versions
ORDER BY changed_at DESC, property_id
LIMIT 50;
