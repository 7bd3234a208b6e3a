-- item_tree: every item with its depth and its path from the root of its product's tree.
-- Roots are items without a parent, or whose parent is not in the warehouse (so no item is lost).
-- Portable across DuckDB and PostgreSQL; {{schema}} is replaced by the validated, quoted schema name.
CREATE OR REPLACE VIEW {{schema}}.item_tree AS
WITH RECURSIVE tree AS (
    SELECT
        i.id AS item_id,
        i.id AS root_item_id,
        CAST(0 AS BIGINT) AS depth,
        CAST(COALESCE(i.name, i.readable_id, i.id) AS TEXT) AS path
    FROM {{schema}}.items AS i
    WHERE i.parent_item_id IS NULL
       OR NOT EXISTS (SELECT 1 FROM {{schema}}.items AS p WHERE p.id = i.parent_item_id)
    UNION ALL
    SELECT
        c.id,
        t.root_item_id,
        t.depth + 1,
        CAST(t.path || ' / ' || COALESCE(c.name, c.readable_id, c.id) AS TEXT)
    FROM {{schema}}.items AS c
    JOIN tree AS t ON c.parent_item_id = t.item_id
)
SELECT
    i.id AS item_id,
    i.readable_id AS item_readable_id,
    i.name AS item_name,
    i.product_id,
    i.workspace_id,
    i.parent_item_id,
    t.root_item_id,
    t.depth,
    t.path,
    (i.deleted IS TRUE OR i._removed_at IS NOT NULL) AS is_gone
FROM tree AS t
JOIN {{schema}}.items AS i ON i.id = t.item_id
