-- baseline_property_values: one row per live property of each product's baseline version (the product's
-- baseline_version_number, once that version is wholly stored: status complete in product_versions), with
-- the names around it and its typed value, also in SI units. Live means not soft-deleted in the version, on
-- an item not soft-deleted in the version, in a product the API still lists. item_id and draft_property_id
-- are draft-scoped ids, so they join the draft's items and properties directly.
CREATE OR REPLACE VIEW {{schema}}.baseline_property_values AS
SELECT
    pv.product_id,
    pr.name AS product_name,
    pr.workspace_id,
    w.name AS workspace_name,
    pv.version_number AS baseline_version,
    pv.id AS property_id,
    COALESCE(pv.draft_property_id, pv.id) AS draft_property_id,
    pv.readable_id AS property_readable_id,
    pv.name AS property_name,
    pv.type AS property_type,
    pv.item_id,
    iv.name AS item_name,
    pv.value_number,
    pv.value_unit,
    pv.value_si,
    pv.si_unit,
    pv.value_text,
    pv.value_date,
    pv.value_matrix,
    pv.value,
    pv.category,
    pv.display_unit,
    pv.updated_at,
    COALESCE(pv.updated_by_name, u.name) AS updated_by_name
FROM {{schema}}.products AS pr
JOIN {{schema}}.product_versions AS v
  ON v.product_id = pr.id
 AND v.version_number = pr.baseline_version_number
 AND v.status = 'complete'
JOIN {{schema}}.property_versions AS pv
  ON pv.product_id = v.product_id
 AND pv.version_number = v.version_number
JOIN {{schema}}.item_versions AS iv
  ON iv.product_id = pv.product_id
 AND iv.version_number = pv.version_number
 AND COALESCE(iv.draft_item_id, iv.id) = pv.item_id
LEFT JOIN {{schema}}.workspaces AS w ON w.id = pr.workspace_id
LEFT JOIN {{schema}}.users AS u ON u.id = pv.updated_by_id
WHERE pr._removed_at IS NULL
  AND pv.deleted IS NOT TRUE
  AND iv.deleted IS NOT TRUE
