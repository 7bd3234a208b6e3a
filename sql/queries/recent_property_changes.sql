-- The 50 most recent property changes, newest first, with what changed and the value after the change.
SELECT
    h.id AS property_id,
    h.name AS property_name,
    h._change AS change,
    h._valid_from AS changed_at,
    h.value AS value_after
FROM {{schema}}.properties_history AS h
ORDER BY h._valid_from DESC, h.id
LIMIT 50
