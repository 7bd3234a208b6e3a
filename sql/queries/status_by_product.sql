-- Status properties per product and status value (e.g. how many are 'Done').
SELECT
    product_name,
    value_text AS status,
    COUNT(*) AS properties
FROM poelis.property_values
WHERE property_type = 'status'
GROUP BY product_name, value_text
ORDER BY product_name, status;
