-- Live numeric properties per category, added up in SI units: how many, in how many units, total and range.
-- Values entered in different units (kg and t, hp and kW, °C and K) are all converted; si_unit is null for units
-- the loader could not convert (custom units), so those properties are counted but not added up.
SELECT
    category,
    si_unit,
    COUNT(*) AS properties,
    COUNT(DISTINCT value_unit) AS display_units,
    SUM(value_si) AS total_si,
    MIN(value_si) AS min_si,
    MAX(value_si) AS max_si
FROM poelis.property_values
WHERE property_type = 'numeric'
GROUP BY category, si_unit
ORDER BY category, si_unit;
