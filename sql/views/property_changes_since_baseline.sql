-- property_changes_since_baseline: for each product with a wholly stored baseline version, every live
-- property of the draft against the same property in the baseline, matched on the draft's id (a version's
-- changed copy points back with draft_property_id): added (in the draft only), removed (in the baseline
-- only: deleted or soft-deleted since, or on an item deleted since) or changed (value, unit, name or type
-- differ), with the old and new values and the numeric difference in the property's unit (when the unit is
-- the same) and in SI units. Unchanged properties are left out.
CREATE OR REPLACE VIEW {{schema}}.property_changes_since_baseline AS
WITH based AS (
    SELECT pr.id AS product_id, pr.baseline_version_number AS baseline_version
    FROM {{schema}}.products AS pr
    JOIN {{schema}}.product_versions AS v
      ON v.product_id = pr.id
     AND v.version_number = pr.baseline_version_number
     AND v.status = 'complete'
    WHERE pr._removed_at IS NULL
),
draft AS (
    SELECT
        p.id AS draft_property_id,
        p.product_id,
        p.item_id,
        i.name AS item_name,
        p.name AS property_name,
        p.type AS property_type,
        p.value,
        p.value_number,
        p.value_unit,
        p.value_si,
        p.si_unit,
        p.updated_at,
        COALESCE(p.updated_by_name, u.name) AS updated_by_name
    FROM {{schema}}.properties AS p
    JOIN based AS b ON b.product_id = p.product_id
    JOIN {{schema}}.items AS i ON i.id = p.item_id
    LEFT JOIN {{schema}}.users AS u ON u.id = p.updated_by_id
    WHERE p.deleted IS NOT TRUE
      AND p._removed_at IS NULL
      AND i.deleted IS NOT TRUE
      AND i._removed_at IS NULL
),
compared AS (
    SELECT
        COALESCE(d.product_id, b.product_id) AS product_id,
        COALESCE(d.draft_property_id, b.draft_property_id) AS draft_property_id,
        COALESCE(d.item_id, b.item_id) AS item_id,
        COALESCE(d.item_name, b.item_name) AS item_name,
        COALESCE(d.property_name, b.property_name) AS property_name,
        COALESCE(d.property_type, b.property_type) AS property_type,
        CASE
            WHEN b.draft_property_id IS NULL THEN 'added'
            WHEN d.draft_property_id IS NULL THEN 'removed'
            WHEN d.value IS DISTINCT FROM b.value
              OR d.value_unit IS DISTINCT FROM b.value_unit
              OR d.property_name IS DISTINCT FROM b.property_name
              OR d.property_type IS DISTINCT FROM b.property_type THEN 'changed'
        END AS change,
        b.value AS old_value,
        d.value AS new_value,
        b.value_number AS old_value_number,
        d.value_number AS new_value_number,
        b.value_unit AS old_unit,
        d.value_unit AS new_unit,
        CASE WHEN d.value_unit IS NOT DISTINCT FROM b.value_unit THEN d.value_number - b.value_number END
            AS difference,
        b.value_si AS old_value_si,
        d.value_si AS new_value_si,
        CASE WHEN d.si_unit = b.si_unit THEN d.si_unit END AS si_unit,
        CASE WHEN d.si_unit = b.si_unit THEN d.value_si - b.value_si END AS difference_si,
        d.updated_at,
        d.updated_by_name
    FROM draft AS d
    FULL OUTER JOIN {{schema}}.baseline_property_values AS b ON b.draft_property_id = d.draft_property_id
)
SELECT
    c.product_id,
    pr.name AS product_name,
    pr.workspace_id,
    bs.baseline_version,
    c.draft_property_id,
    c.item_id,
    c.item_name,
    c.property_name,
    c.property_type,
    c.change,
    c.old_value,
    c.new_value,
    c.old_value_number,
    c.new_value_number,
    c.old_unit,
    c.new_unit,
    c.difference,
    c.old_value_si,
    c.new_value_si,
    c.si_unit,
    c.difference_si,
    c.updated_at,
    c.updated_by_name
FROM compared AS c
JOIN based AS bs ON bs.product_id = c.product_id
JOIN {{schema}}.products AS pr ON pr.id = c.product_id
WHERE c.change IS NOT NULL
