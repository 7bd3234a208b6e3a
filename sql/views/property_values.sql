-- property_values: one row per live property (not soft-deleted or removed, on an item that is not soft-deleted
-- or removed, in a product the API still lists) with its workspace, product and item names, the item's path in
-- its tree, and the typed value and unit, also in SI units (value_si, si_unit) so a category adds up.
CREATE OR REPLACE VIEW {{schema}}.property_values AS
SELECT
    p.id AS property_id,
    p.readable_id AS property_readable_id,
    p.name AS property_name,
    p.type AS property_type,
    p.workspace_id,
    w.name AS workspace_name,
    p.product_id,
    pr.name AS product_name,
    p.item_id,
    i.name AS item_name,
    t.path AS item_path,
    p.value_number,
    p.value_unit,
    p.value_si,
    p.si_unit,
    p.value_text,
    p.value_date,
    p.value_matrix,
    p.value,
    p.category,
    p.display_unit,
    p.updated_at,
    p._synced_at
FROM {{schema}}.properties AS p
LEFT JOIN {{schema}}.items AS i ON i.id = p.item_id
LEFT JOIN {{schema}}.products AS pr ON pr.id = p.product_id
LEFT JOIN {{schema}}.workspaces AS w ON w.id = p.workspace_id
LEFT JOIN {{schema}}.item_tree AS t ON t.item_id = p.item_id
WHERE p.deleted IS NOT TRUE
  AND p._removed_at IS NULL
  AND i.deleted IS NOT TRUE
  AND i._removed_at IS NULL
  AND pr._removed_at IS NULL
