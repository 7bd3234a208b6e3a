-- product_summary: per product still listed by the API, its live items and properties (by type; a property is
-- live when it and its item are) and the latest update time of the product, its items or its properties.
CREATE OR REPLACE VIEW {{schema}}.product_summary AS
WITH live_items AS (
    SELECT product_id, COUNT(*) AS items, MAX(updated_at) AS last_item_update
    FROM {{schema}}.items
    WHERE deleted IS NOT TRUE AND _removed_at IS NULL
    GROUP BY product_id
),
live_properties AS (
    SELECT
        p.product_id,
        COUNT(*) AS properties,
        COUNT(CASE WHEN p.type = 'numeric' THEN 1 END) AS numeric_properties,
        COUNT(CASE WHEN p.type = 'text' THEN 1 END) AS text_properties,
        COUNT(CASE WHEN p.type = 'date' THEN 1 END) AS date_properties,
        COUNT(CASE WHEN p.type = 'status' THEN 1 END) AS status_properties,
        COUNT(CASE WHEN p.type = 'matrix' THEN 1 END) AS matrix_properties,
        COUNT(CASE WHEN p.type = 'formula' THEN 1 END) AS formula_properties,
        MAX(p.updated_at) AS last_property_update
    FROM {{schema}}.properties AS p
    LEFT JOIN {{schema}}.items AS i ON i.id = p.item_id
    WHERE p.deleted IS NOT TRUE AND p._removed_at IS NULL
      AND i.deleted IS NOT TRUE AND i._removed_at IS NULL
    GROUP BY p.product_id
)
SELECT
    pr.id AS product_id,
    pr.readable_id AS product_readable_id,
    pr.name AS product_name,
    pr.workspace_id,
    w.name AS workspace_name,
    pr.archived,
    COALESCE(li.items, 0) AS items,
    COALESCE(lp.properties, 0) AS properties,
    COALESCE(lp.numeric_properties, 0) AS numeric_properties,
    COALESCE(lp.text_properties, 0) AS text_properties,
    COALESCE(lp.date_properties, 0) AS date_properties,
    COALESCE(lp.status_properties, 0) AS status_properties,
    COALESCE(lp.matrix_properties, 0) AS matrix_properties,
    COALESCE(lp.formula_properties, 0) AS formula_properties,
    GREATEST(pr.updated_at, li.last_item_update, lp.last_property_update) AS last_updated_at,
    pr._synced_at AS last_synced_at
FROM {{schema}}.products AS pr
LEFT JOIN {{schema}}.workspaces AS w ON w.id = pr.workspace_id
LEFT JOIN live_items AS li ON li.product_id = pr.id
LEFT JOIN live_properties AS lp ON lp.product_id = pr.id
WHERE pr._removed_at IS NULL
