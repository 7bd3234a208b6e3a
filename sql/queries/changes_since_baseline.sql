-- What changed since each product's baseline review: properties added, removed and changed, per product.
SELECT
    product_name,
    baseline_version,
    change,
    COUNT(*) AS properties
FROM poelis.property_changes_since_baseline
GROUP BY product_name, baseline_version, change
ORDER BY product_name, change;
