-- Mass per product and property name, in kg whatever unit each value was entered in (e.g. all 'Dry Mass').
SELECT
    product_name,
    property_name,
    COUNT(*) AS properties,
    SUM(value_si) AS total_kg
FROM poelis.property_values
WHERE property_type = 'numeric'
  AND si_unit = 'kg'
GROUP BY product_name, property_name
ORDER BY product_name, property_name;
