-- freshness: per product still listed by the API, how fresh the properties of its live items are: when
-- each item's properties were last listed comes from item_sync_state. The staleness bound is a setting of
-- each sync run, not of the data, so compare max_age_hours (or oldest_listed_at) with yours; never_listed
-- items are the backlog of a first load. Soft-deleted items are counted apart: their properties are listed
-- once after the deletion is seen, then left alone.
CREATE OR REPLACE VIEW {{schema}}.freshness AS
WITH live_items AS (
    SELECT
        i.product_id,
        COUNT(CASE WHEN i.deleted IS NOT TRUE THEN 1 END) AS live_items,
        COUNT(CASE WHEN i.deleted IS NOT TRUE AND s.properties_listed_at IS NOT NULL THEN 1 END)
            AS listed_items,
        COUNT(CASE WHEN i.deleted IS NOT TRUE AND s.properties_listed_at IS NULL THEN 1 END) AS never_listed,
        COUNT(CASE WHEN i.deleted IS TRUE THEN 1 END) AS soft_deleted_items,
        MIN(CASE WHEN i.deleted IS NOT TRUE THEN s.properties_listed_at END) AS oldest_listed_at,
        MAX(CASE WHEN i.deleted IS NOT TRUE THEN s.properties_listed_at END) AS newest_listed_at
    FROM {{schema}}.items AS i
    LEFT JOIN {{schema}}.item_sync_state AS s ON s.item_id = i.id
    WHERE i._removed_at IS NULL
    GROUP BY i.product_id
)
SELECT
    pr.id AS product_id,
    pr.name AS product_name,
    pr.workspace_id,
    COALESCE(li.live_items, 0) AS live_items,
    COALESCE(li.listed_items, 0) AS listed_items,
    COALESCE(li.never_listed, 0) AS never_listed,
    COALESCE(li.soft_deleted_items, 0) AS soft_deleted_items,
    li.oldest_listed_at,
    li.newest_listed_at,
    CAST(EXTRACT(EPOCH FROM (CURRENT_TIMESTAMP - li.oldest_listed_at)) / 3600.0 AS DOUBLE PRECISION)
        AS max_age_hours
FROM {{schema}}.products AS pr
LEFT JOIN live_items AS li ON li.product_id = pr.id
WHERE pr._removed_at IS NULL
