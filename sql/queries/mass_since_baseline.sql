-- The mass budget per product at its baseline version and in the draft, in kg whatever the units entered.
WITH baseline AS (
    SELECT product_id, product_name, baseline_version, SUM(value_si) AS baseline_kg
    FROM poelis.baseline_property_values
    WHERE property_type = 'numeric'
      AND si_unit = 'kg'
    GROUP BY product_id, product_name, baseline_version
),
draft AS (
    SELECT product_id, SUM(value_si) AS draft_kg
    FROM poelis.property_values
    WHERE property_type = 'numeric'
      AND si_unit = 'kg'
    GROUP BY product_id
)
SELECT
    b.product_name,
    b.baseline_version,
    b.baseline_kg,
    d.draft_kg,
    d.draft_kg - b.baseline_kg AS change_kg
FROM baseline AS b
LEFT JOIN draft AS d ON d.product_id = b.product_id
ORDER BY b.product_name;
