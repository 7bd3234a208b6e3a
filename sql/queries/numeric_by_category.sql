-- Live numeric properties per category and unit: how many, and their range.
SELECT
    category,
    value_unit,
    COUNT(*) AS properties,
    MIN(value_number) AS min_value,
    MAX(value_number) AS max_value
FROM {{schema}}.property_values
WHERE property_type = 'numeric'
GROUP BY category, value_unit
ORDER BY category, value_unit
