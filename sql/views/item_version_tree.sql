-- item_version_tree: the item tree of every stored published version, with each item's depth and path.
-- Parent links in a version are draft-scoped ids (SPEC 11 #8): a child's parent_item_id names the parent's
-- draft id, which a changed copy carries in draft_item_id, so parents are matched on COALESCE(draft_item_id, id).
-- Roots are items without a parent, or whose parent is not in the version (so no item is lost).
-- Portable across DuckDB and PostgreSQL; {{schema}} is replaced by the validated, quoted schema name.
CREATE OR REPLACE VIEW {{schema}}.item_version_tree AS
WITH RECURSIVE tree AS (
    SELECT
        i.product_id,
        i.version_number,
        i.id AS item_id,
        COALESCE(i.draft_item_id, i.id) AS draft_item_id,
        COALESCE(i.draft_item_id, i.id) AS root_item_id,
        CAST(0 AS BIGINT) AS depth,
        CAST(COALESCE(i.name, i.readable_id, i.id) AS TEXT) AS path
    FROM {{schema}}.item_versions AS i
    WHERE i.parent_item_id IS NULL
       OR NOT EXISTS (
           SELECT 1
           FROM {{schema}}.item_versions AS p
           WHERE p.product_id = i.product_id
             AND p.version_number = i.version_number
             AND COALESCE(p.draft_item_id, p.id) = i.parent_item_id
       )
    UNION ALL
    SELECT
        c.product_id,
        c.version_number,
        c.id,
        COALESCE(c.draft_item_id, c.id),
        t.root_item_id,
        t.depth + 1,
        CAST(t.path || ' / ' || COALESCE(c.name, c.readable_id, c.id) AS TEXT)
    FROM {{schema}}.item_versions AS c
    JOIN tree AS t
      ON c.product_id = t.product_id
     AND c.version_number = t.version_number
     AND c.parent_item_id = t.draft_item_id
)
SELECT
    i.product_id,
    i.version_number,
    i.id AS item_id,
    t.draft_item_id,
    i.readable_id AS item_readable_id,
    i.name AS item_name,
    i.workspace_id,
    i.parent_item_id,
    t.root_item_id,
    t.depth,
    t.path,
    i.deleted
FROM tree AS t
JOIN {{schema}}.item_versions AS i
  ON i.product_id = t.product_id
 AND i.version_number = t.version_number
 AND i.id = t.item_id
