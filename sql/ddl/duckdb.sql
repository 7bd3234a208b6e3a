-- Generated from poelis_pipelines/tables.py for duckdb; do not edit.
-- Regenerate with: python -m poelis_pipelines.warehouse.ddl
-- Warehouse.ensure() runs the same statements and adds later-declared columns to old tables.

CREATE SCHEMA IF NOT EXISTS "poelis";

CREATE TABLE IF NOT EXISTS "poelis"."workspaces" (
    "id" VARCHAR NOT NULL,
    "readable_id" VARCHAR,
    "name" VARCHAR,
    "_synced_at" TIMESTAMPTZ NOT NULL,
    "_removed_at" TIMESTAMPTZ,
    "_extra" VARCHAR
);

CREATE TABLE IF NOT EXISTS "poelis"."products" (
    "id" VARCHAR NOT NULL,
    "readable_id" VARCHAR,
    "workspace_id" VARCHAR NOT NULL,
    "name" VARCHAR,
    "description" VARCHAR,
    "baseline_version_number" BIGINT,
    "archived" BOOLEAN,
    "status_id" VARCHAR,
    "status_name" VARCHAR,
    "status_color" VARCHAR,
    "status_group_key" VARCHAR,
    "excluded_status_ids" VARCHAR,
    "owner_id" VARCHAR,
    "owner_name" VARCHAR,
    "created_by_id" VARCHAR,
    "created_by_name" VARCHAR,
    "created_at" TIMESTAMPTZ,
    "updated_at" TIMESTAMPTZ,
    "updated_by_id" VARCHAR,
    "updated_by_name" VARCHAR,
    "_synced_at" TIMESTAMPTZ NOT NULL,
    "_removed_at" TIMESTAMPTZ,
    "_extra" VARCHAR
);

CREATE TABLE IF NOT EXISTS "poelis"."items" (
    "id" VARCHAR NOT NULL,
    "readable_id" VARCHAR,
    "product_id" VARCHAR NOT NULL,
    "workspace_id" VARCHAR,
    "name" VARCHAR,
    "deleted" BOOLEAN,
    "parent_item_id" VARCHAR,
    "draft_item_id" VARCHAR,
    "created_by_id" VARCHAR,
    "created_by_name" VARCHAR,
    "created_at" TIMESTAMPTZ,
    "updated_at" TIMESTAMPTZ,
    "updated_by_id" VARCHAR,
    "updated_by_name" VARCHAR,
    "owner_id" VARCHAR,
    "owner_name" VARCHAR,
    "owner_text" VARCHAR,
    "position" DOUBLE,
    "has_changes" BOOLEAN,
    "_synced_at" TIMESTAMPTZ NOT NULL,
    "_removed_at" TIMESTAMPTZ,
    "_extra" VARCHAR
);

CREATE TABLE IF NOT EXISTS "poelis"."properties" (
    "id" VARCHAR NOT NULL,
    "readable_id" VARCHAR,
    "item_id" VARCHAR NOT NULL,
    "product_id" VARCHAR NOT NULL,
    "workspace_id" VARCHAR,
    "name" VARCHAR,
    "type" VARCHAR,
    "value" VARCHAR,
    "value_number" DOUBLE,
    "value_unit" VARCHAR,
    "value_si" DOUBLE,
    "si_unit" VARCHAR,
    "value_text" VARCHAR,
    "value_date" DATE,
    "value_matrix" VARCHAR,
    "deleted" BOOLEAN,
    "category" VARCHAR,
    "display_unit" VARCHAR,
    "formula_expression" VARCHAR,
    "draft_property_id" VARCHAR,
    "references" VARCHAR,
    "created_by_id" VARCHAR,
    "created_by_name" VARCHAR,
    "created_at" TIMESTAMPTZ,
    "updated_at" TIMESTAMPTZ,
    "updated_by_id" VARCHAR,
    "updated_by_name" VARCHAR,
    "owner_id" VARCHAR,
    "owner_name" VARCHAR,
    "owner_text" VARCHAR,
    "position" DOUBLE,
    "has_changes" BOOLEAN,
    "has_formula_dependency_changes" BOOLEAN,
    "_synced_at" TIMESTAMPTZ NOT NULL,
    "_removed_at" TIMESTAMPTZ,
    "_extra" VARCHAR
);

CREATE TABLE IF NOT EXISTS "poelis"."users" (
    "id" VARCHAR NOT NULL,
    "name" VARCHAR,
    "email" VARCHAR,
    "org_role" VARCHAR,
    "workspace_access" VARCHAR,
    "product_access" VARCHAR,
    "_synced_at" TIMESTAMPTZ NOT NULL,
    "_removed_at" TIMESTAMPTZ,
    "_extra" VARCHAR
);

CREATE TABLE IF NOT EXISTS "poelis"."workspaces_history" (
    "id" VARCHAR NOT NULL,
    "readable_id" VARCHAR,
    "name" VARCHAR,
    "_removed_at" TIMESTAMPTZ,
    "_extra" VARCHAR,
    "_valid_from" TIMESTAMPTZ NOT NULL,
    "_valid_to" TIMESTAMPTZ,
    "_change" VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS "poelis"."products_history" (
    "id" VARCHAR NOT NULL,
    "readable_id" VARCHAR,
    "workspace_id" VARCHAR NOT NULL,
    "name" VARCHAR,
    "description" VARCHAR,
    "baseline_version_number" BIGINT,
    "archived" BOOLEAN,
    "status_id" VARCHAR,
    "status_name" VARCHAR,
    "status_color" VARCHAR,
    "status_group_key" VARCHAR,
    "excluded_status_ids" VARCHAR,
    "owner_id" VARCHAR,
    "owner_name" VARCHAR,
    "created_by_id" VARCHAR,
    "created_by_name" VARCHAR,
    "created_at" TIMESTAMPTZ,
    "updated_at" TIMESTAMPTZ,
    "updated_by_id" VARCHAR,
    "updated_by_name" VARCHAR,
    "_removed_at" TIMESTAMPTZ,
    "_extra" VARCHAR,
    "_valid_from" TIMESTAMPTZ NOT NULL,
    "_valid_to" TIMESTAMPTZ,
    "_change" VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS "poelis"."items_history" (
    "id" VARCHAR NOT NULL,
    "readable_id" VARCHAR,
    "product_id" VARCHAR NOT NULL,
    "workspace_id" VARCHAR,
    "name" VARCHAR,
    "deleted" BOOLEAN,
    "parent_item_id" VARCHAR,
    "draft_item_id" VARCHAR,
    "created_by_id" VARCHAR,
    "created_by_name" VARCHAR,
    "created_at" TIMESTAMPTZ,
    "updated_at" TIMESTAMPTZ,
    "updated_by_id" VARCHAR,
    "updated_by_name" VARCHAR,
    "owner_id" VARCHAR,
    "owner_name" VARCHAR,
    "owner_text" VARCHAR,
    "position" DOUBLE,
    "has_changes" BOOLEAN,
    "_removed_at" TIMESTAMPTZ,
    "_extra" VARCHAR,
    "_valid_from" TIMESTAMPTZ NOT NULL,
    "_valid_to" TIMESTAMPTZ,
    "_change" VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS "poelis"."properties_history" (
    "id" VARCHAR NOT NULL,
    "readable_id" VARCHAR,
    "item_id" VARCHAR NOT NULL,
    "product_id" VARCHAR NOT NULL,
    "workspace_id" VARCHAR,
    "name" VARCHAR,
    "type" VARCHAR,
    "value" VARCHAR,
    "value_number" DOUBLE,
    "value_unit" VARCHAR,
    "value_si" DOUBLE,
    "si_unit" VARCHAR,
    "value_text" VARCHAR,
    "value_date" DATE,
    "value_matrix" VARCHAR,
    "deleted" BOOLEAN,
    "category" VARCHAR,
    "display_unit" VARCHAR,
    "formula_expression" VARCHAR,
    "draft_property_id" VARCHAR,
    "references" VARCHAR,
    "created_by_id" VARCHAR,
    "created_by_name" VARCHAR,
    "created_at" TIMESTAMPTZ,
    "updated_at" TIMESTAMPTZ,
    "updated_by_id" VARCHAR,
    "updated_by_name" VARCHAR,
    "owner_id" VARCHAR,
    "owner_name" VARCHAR,
    "owner_text" VARCHAR,
    "position" DOUBLE,
    "has_changes" BOOLEAN,
    "has_formula_dependency_changes" BOOLEAN,
    "_removed_at" TIMESTAMPTZ,
    "_extra" VARCHAR,
    "_valid_from" TIMESTAMPTZ NOT NULL,
    "_valid_to" TIMESTAMPTZ,
    "_change" VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS "poelis"."users_history" (
    "id" VARCHAR NOT NULL,
    "name" VARCHAR,
    "email" VARCHAR,
    "org_role" VARCHAR,
    "workspace_access" VARCHAR,
    "product_access" VARCHAR,
    "_removed_at" TIMESTAMPTZ,
    "_extra" VARCHAR,
    "_valid_from" TIMESTAMPTZ NOT NULL,
    "_valid_to" TIMESTAMPTZ,
    "_change" VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS "poelis"."item_sync_state" (
    "item_id" VARCHAR NOT NULL,
    "product_id" VARCHAR NOT NULL,
    "workspace_id" VARCHAR,
    "properties_listed_at" TIMESTAMPTZ,
    "properties_count" BIGINT,
    "listed_item_updated_at" TIMESTAMPTZ,
    "listed_item_name" VARCHAR,
    "listed_parent_item_id" VARCHAR,
    "deleted_when_listed" BOOLEAN,
    "run_id" VARCHAR
);

CREATE TABLE IF NOT EXISTS "poelis"."product_versions" (
    "product_id" VARCHAR NOT NULL,
    "workspace_id" VARCHAR,
    "version_number" BIGINT NOT NULL,
    "is_baseline" BOOLEAN,
    "status" VARCHAR NOT NULL,
    "item_count" BIGINT,
    "property_count" BIGINT,
    "discovered_at" TIMESTAMPTZ,
    "completed_at" TIMESTAMPTZ,
    "last_probe_at" TIMESTAMPTZ,
    "note" VARCHAR
);

CREATE TABLE IF NOT EXISTS "poelis"."item_versions" (
    "id" VARCHAR NOT NULL,
    "readable_id" VARCHAR,
    "product_id" VARCHAR NOT NULL,
    "version_number" BIGINT NOT NULL,
    "workspace_id" VARCHAR,
    "name" VARCHAR,
    "deleted" BOOLEAN,
    "parent_item_id" VARCHAR,
    "draft_item_id" VARCHAR,
    "created_by_id" VARCHAR,
    "created_by_name" VARCHAR,
    "created_at" TIMESTAMPTZ,
    "updated_at" TIMESTAMPTZ,
    "updated_by_id" VARCHAR,
    "updated_by_name" VARCHAR,
    "owner_id" VARCHAR,
    "owner_name" VARCHAR,
    "owner_text" VARCHAR,
    "position" DOUBLE,
    "has_changes" BOOLEAN,
    "_synced_at" TIMESTAMPTZ NOT NULL,
    "_extra" VARCHAR
);

CREATE TABLE IF NOT EXISTS "poelis"."property_versions" (
    "id" VARCHAR NOT NULL,
    "readable_id" VARCHAR,
    "item_id" VARCHAR NOT NULL,
    "product_id" VARCHAR NOT NULL,
    "version_number" BIGINT NOT NULL,
    "workspace_id" VARCHAR,
    "name" VARCHAR,
    "type" VARCHAR,
    "value" VARCHAR,
    "value_number" DOUBLE,
    "value_unit" VARCHAR,
    "value_si" DOUBLE,
    "si_unit" VARCHAR,
    "value_text" VARCHAR,
    "value_date" DATE,
    "value_matrix" VARCHAR,
    "deleted" BOOLEAN,
    "category" VARCHAR,
    "display_unit" VARCHAR,
    "formula_expression" VARCHAR,
    "draft_property_id" VARCHAR,
    "references" VARCHAR,
    "created_by_id" VARCHAR,
    "created_by_name" VARCHAR,
    "created_at" TIMESTAMPTZ,
    "updated_at" TIMESTAMPTZ,
    "updated_by_id" VARCHAR,
    "updated_by_name" VARCHAR,
    "owner_id" VARCHAR,
    "owner_name" VARCHAR,
    "owner_text" VARCHAR,
    "position" DOUBLE,
    "has_changes" BOOLEAN,
    "has_formula_dependency_changes" BOOLEAN,
    "_synced_at" TIMESTAMPTZ NOT NULL,
    "_extra" VARCHAR
);

CREATE TABLE IF NOT EXISTS "poelis"."sync_runs" (
    "run_id" VARCHAR NOT NULL,
    "table_name" VARCHAR NOT NULL,
    "scope" VARCHAR NOT NULL,
    "started_at" TIMESTAMPTZ,
    "finished_at" TIMESTAMPTZ,
    "status" VARCHAR NOT NULL,
    "requests" BIGINT,
    "retries" BIGINT,
    "rate_limited" BIGINT,
    "seconds_waited" DOUBLE,
    "rows_inserted" BIGINT,
    "rows_updated" BIGINT,
    "rows_unchanged" BIGINT,
    "rows_removed" BIGINT,
    "error" VARCHAR
);

COMMENT ON TABLE "poelis"."workspaces" IS 'Workspaces of the organization, one row per workspace id.';

COMMENT ON COLUMN "poelis"."workspaces"."id" IS 'The API''s stable UUID of the record.';

COMMENT ON COLUMN "poelis"."workspaces"."readable_id" IS 'Human-readable slug; users can change it, so join on `id`.';

COMMENT ON COLUMN "poelis"."workspaces"."name" IS 'Display name.';

COMMENT ON COLUMN "poelis"."workspaces"."_synced_at" IS 'When the last sync run that saw this row ran (UTC).';

COMMENT ON COLUMN "poelis"."workspaces"."_removed_at" IS 'When the row vanished from a complete listing of its parent (UTC); null while the API lists it.';

COMMENT ON COLUMN "poelis"."workspaces"."_extra" IS 'JSON object of unknown API fields and of values that did not fit their column type.';

COMMENT ON TABLE "poelis"."products" IS 'Products of every workspace, one row per product id (archived ones included).';

COMMENT ON COLUMN "poelis"."products"."id" IS 'The API''s stable UUID of the record.';

COMMENT ON COLUMN "poelis"."products"."readable_id" IS 'Human-readable slug; users can change it, so join on `id`.';

COMMENT ON COLUMN "poelis"."products"."workspace_id" IS 'Parent workspace.';

COMMENT ON COLUMN "poelis"."products"."name" IS 'Display name.';

COMMENT ON COLUMN "poelis"."products"."description" IS 'Free-text description.';

COMMENT ON COLUMN "poelis"."products"."baseline_version_number" IS 'Published version chosen as the baseline.';

COMMENT ON COLUMN "poelis"."products"."archived" IS 'Archived flag; null when the API omits it (its default is false).';

COMMENT ON COLUMN "poelis"."products"."status_id" IS 'Workflow status id (workspace-level).';

COMMENT ON COLUMN "poelis"."products"."status_name" IS 'Workflow status name, e.g. ''In Progress''.';

COMMENT ON COLUMN "poelis"."products"."status_color" IS 'Workflow status colour, hex.';

COMMENT ON COLUMN "poelis"."products"."status_group_key" IS 'Workflow status group, e.g. ''started''.';

COMMENT ON COLUMN "poelis"."products"."excluded_status_ids" IS 'JSON array of workspace statuses hidden for this product.';

COMMENT ON COLUMN "poelis"."products"."owner_id" IS 'User id (`auth0|…`) of the owner.';

COMMENT ON COLUMN "poelis"."products"."owner_name" IS 'Display name of the owner.';

COMMENT ON COLUMN "poelis"."products"."created_by_id" IS 'User id (`auth0|…`) of the created by.';

COMMENT ON COLUMN "poelis"."products"."created_by_name" IS 'Display name of the created by.';

COMMENT ON COLUMN "poelis"."products"."created_at" IS 'When the record was created (UTC).';

COMMENT ON COLUMN "poelis"."products"."updated_at" IS 'When the record was last updated (UTC).';

COMMENT ON COLUMN "poelis"."products"."updated_by_id" IS 'User id (`auth0|…`) of the updated by.';

COMMENT ON COLUMN "poelis"."products"."updated_by_name" IS 'Display name of the updated by.';

COMMENT ON COLUMN "poelis"."products"."_synced_at" IS 'When the last sync run that saw this row ran (UTC).';

COMMENT ON COLUMN "poelis"."products"."_removed_at" IS 'When the row vanished from a complete listing of its parent (UTC); null while the API lists it.';

COMMENT ON COLUMN "poelis"."products"."_extra" IS 'JSON object of unknown API fields and of values that did not fit their column type.';

COMMENT ON TABLE "poelis"."items" IS 'Items (the product trees), draft view, one row per item id (soft-deleted kept).';

COMMENT ON COLUMN "poelis"."items"."id" IS 'The API''s stable UUID of the record.';

COMMENT ON COLUMN "poelis"."items"."readable_id" IS 'Human-readable slug; users can change it, so join on `id`.';

COMMENT ON COLUMN "poelis"."items"."product_id" IS 'Parent product.';

COMMENT ON COLUMN "poelis"."items"."workspace_id" IS 'Workspace of the product (lineage for analysts).';

COMMENT ON COLUMN "poelis"."items"."name" IS 'Display name.';

COMMENT ON COLUMN "poelis"."items"."deleted" IS 'The API''s soft-delete flag (deleted records are kept).';

COMMENT ON COLUMN "poelis"."items"."parent_item_id" IS 'Parent item in the tree; null for a root item.';

COMMENT ON COLUMN "poelis"."items"."draft_item_id" IS 'Draft id of a versioned copy; null for the draft itself.';

COMMENT ON COLUMN "poelis"."items"."created_by_id" IS 'User id (`auth0|…`) of the created by.';

COMMENT ON COLUMN "poelis"."items"."created_by_name" IS 'Display name of the created by.';

COMMENT ON COLUMN "poelis"."items"."created_at" IS 'When the record was created (UTC).';

COMMENT ON COLUMN "poelis"."items"."updated_at" IS 'When the record was last updated (UTC).';

COMMENT ON COLUMN "poelis"."items"."updated_by_id" IS 'User id (`auth0|…`) of the updated by.';

COMMENT ON COLUMN "poelis"."items"."updated_by_name" IS 'Display name of the updated by.';

COMMENT ON COLUMN "poelis"."items"."owner_id" IS 'User id (`auth0|…`) of the owner.';

COMMENT ON COLUMN "poelis"."items"."owner_name" IS 'Display name of the owner.';

COMMENT ON COLUMN "poelis"."items"."owner_text" IS 'Legacy: free-text owner such as ''Engineering Team'' (older snapshots send `owner` as a string).';

COMMENT ON COLUMN "poelis"."items"."position" IS 'Legacy: sort order among siblings (older API snapshot).';

COMMENT ON COLUMN "poelis"."items"."has_changes" IS 'Legacy: the draft has unpublished changes (older API snapshot).';

COMMENT ON COLUMN "poelis"."items"."_synced_at" IS 'When the last sync run that saw this row ran (UTC).';

COMMENT ON COLUMN "poelis"."items"."_removed_at" IS 'When the row vanished from a complete listing of its parent (UTC); null while the API lists it.';

COMMENT ON COLUMN "poelis"."items"."_extra" IS 'JSON object of unknown API fields and of values that did not fit their column type.';

COMMENT ON TABLE "poelis"."properties" IS 'Properties of every item, draft view, one row per property id (soft-deleted included).';

COMMENT ON COLUMN "poelis"."properties"."id" IS 'The API''s stable UUID of the record.';

COMMENT ON COLUMN "poelis"."properties"."readable_id" IS 'Human-readable slug; users can change it, so join on `id`.';

COMMENT ON COLUMN "poelis"."properties"."item_id" IS 'Parent item.';

COMMENT ON COLUMN "poelis"."properties"."product_id" IS 'Product of the item (lineage; the scope a sync lists completely).';

COMMENT ON COLUMN "poelis"."properties"."workspace_id" IS 'Workspace of the product (lineage for analysts).';

COMMENT ON COLUMN "poelis"."properties"."name" IS 'Display name.';

COMMENT ON COLUMN "poelis"."properties"."type" IS 'numeric, text, date, status, matrix or formula (unknown types are kept).';

COMMENT ON COLUMN "poelis"."properties"."value" IS 'The value exactly as received, as JSON text (non-finite numbers as the strings "NaN", "Infinity", "-Infinity").';

COMMENT ON COLUMN "poelis"."properties"."value_number" IS 'Numeric value: the number of a numeric property, or the leading number of a formula result such as ''10 kg''. NaN and ±Infinity are kept as IEEE values where the warehouse supports them.';

COMMENT ON COLUMN "poelis"."properties"."value_unit" IS 'Unit of the value: `display_unit` of numeric and matrix, the unit parsed from a formula result.';

COMMENT ON COLUMN "poelis"."properties"."value_si" IS '`value_number` in SI units (`si_unit`), so the values of a category add up whatever unit each was entered in: 2 t is 2000 kg, 20 °C is 293.15 K, `%` is 0.01, 12 pcs is 12. Converted only when the unit fits the category (kg for MASS, not pcs) or, without a known category (formula results, custom categories), from familiar engineering units only; else null, as when pint cannot read `value_unit`, and for matrices: their cells stay in `value_unit`.';

COMMENT ON COLUMN "poelis"."properties"."si_unit" IS 'SI unit of `value_si` (kg, m, W, Pa, K, s, W/kg, ...; N*m for TORQUE, J for ENERGY; 1 when dimensionless, e.g. `-`, `%` or pcs): what `value_unit` converts to, matrices included. Null when `value_unit` is not converted (see `value_si`).';

COMMENT ON COLUMN "poelis"."properties"."value_text" IS 'Text value of text, status and formula properties.';

COMMENT ON COLUMN "poelis"."properties"."value_date" IS 'Date value of date properties (null if the value is not an ISO date).';

COMMENT ON COLUMN "poelis"."properties"."value_matrix" IS 'Matrix value as compact JSON text of a 2-D array (`[]` when empty); null when the received matrix is malformed.';

COMMENT ON COLUMN "poelis"."properties"."deleted" IS 'The API''s soft-delete flag (deleted records are kept).';

COMMENT ON COLUMN "poelis"."properties"."category" IS 'Category of numeric and matrix properties, e.g. ''POWER''.';

COMMENT ON COLUMN "poelis"."properties"."display_unit" IS 'Display unit of numeric and matrix properties, e.g. ''kW''.';

COMMENT ON COLUMN "poelis"."properties"."formula_expression" IS 'Formula with `@{property_id}` tokens (formula properties only).';

COMMENT ON COLUMN "poelis"."properties"."draft_property_id" IS 'Draft id of a versioned copy; null for the draft itself.';

COMMENT ON COLUMN "poelis"."properties"."references" IS 'JSON array of source-document citations `{item_document_id, page}`.';

COMMENT ON COLUMN "poelis"."properties"."created_by_id" IS 'User id (`auth0|…`) of the created by.';

COMMENT ON COLUMN "poelis"."properties"."created_by_name" IS 'Display name of the created by.';

COMMENT ON COLUMN "poelis"."properties"."created_at" IS 'When the record was created (UTC).';

COMMENT ON COLUMN "poelis"."properties"."updated_at" IS 'When the record was last updated (UTC).';

COMMENT ON COLUMN "poelis"."properties"."updated_by_id" IS 'User id (`auth0|…`) of the updated by.';

COMMENT ON COLUMN "poelis"."properties"."updated_by_name" IS 'Display name of the updated by.';

COMMENT ON COLUMN "poelis"."properties"."owner_id" IS 'User id (`auth0|…`) of the owner.';

COMMENT ON COLUMN "poelis"."properties"."owner_name" IS 'Display name of the owner.';

COMMENT ON COLUMN "poelis"."properties"."owner_text" IS 'Legacy: free-text owner such as ''Engineering Team'' (older snapshots send `owner` as a string).';

COMMENT ON COLUMN "poelis"."properties"."position" IS 'Legacy: sort order among siblings (older API snapshot).';

COMMENT ON COLUMN "poelis"."properties"."has_changes" IS 'Legacy: the draft has unpublished changes (older API snapshot).';

COMMENT ON COLUMN "poelis"."properties"."has_formula_dependency_changes" IS 'Legacy: a formula input changed (older API snapshot).';

COMMENT ON COLUMN "poelis"."properties"."_synced_at" IS 'When the last sync run that saw this row ran (UTC).';

COMMENT ON COLUMN "poelis"."properties"."_removed_at" IS 'When the row vanished from a complete listing of its parent (UTC); null while the API lists it.';

COMMENT ON COLUMN "poelis"."properties"."_extra" IS 'JSON object of unknown API fields and of values that did not fit their column type.';

COMMENT ON TABLE "poelis"."users" IS 'Users of the organization (`GET /organization/users`), one row per user id: who they are and what they may see. Records name their creator and last editor already (`created_by_name`, `updated_by_name`); views fall back on this table for a record that carries only the user id.';

COMMENT ON COLUMN "poelis"."users"."id" IS 'The API''s stable UUID of the record.';

COMMENT ON COLUMN "poelis"."users"."name" IS 'Display name.';

COMMENT ON COLUMN "poelis"."users"."email" IS 'E-mail address.';

COMMENT ON COLUMN "poelis"."users"."org_role" IS 'Role in the organization, e.g. ''admin''.';

COMMENT ON COLUMN "poelis"."users"."workspace_access" IS 'JSON array of `{workspace_id, workspace_name, role}`: the workspaces the user may open.';

COMMENT ON COLUMN "poelis"."users"."product_access" IS 'JSON array of `{product_id, product_name, workspace_id, role}`; a product role overrides the workspace role.';

COMMENT ON COLUMN "poelis"."users"."_synced_at" IS 'When the last sync run that saw this row ran (UTC).';

COMMENT ON COLUMN "poelis"."users"."_removed_at" IS 'When the row vanished from a complete listing of its parent (UTC); null while the API lists it.';

COMMENT ON COLUMN "poelis"."users"."_extra" IS 'JSON object of unknown API fields and of values that did not fit their column type.';

COMMENT ON TABLE "poelis"."workspaces_history" IS 'Every version of every row of `workspaces`: the row as it was from `_valid_from` until `_valid_to` (null = current version).';

COMMENT ON COLUMN "poelis"."workspaces_history"."id" IS 'The API''s stable UUID of the record.';

COMMENT ON COLUMN "poelis"."workspaces_history"."readable_id" IS 'Human-readable slug; users can change it, so join on `id`.';

COMMENT ON COLUMN "poelis"."workspaces_history"."name" IS 'Display name.';

COMMENT ON COLUMN "poelis"."workspaces_history"."_removed_at" IS 'When the row vanished from a complete listing of its parent (UTC); null while the API lists it.';

COMMENT ON COLUMN "poelis"."workspaces_history"."_extra" IS 'JSON object of unknown API fields and of values that did not fit their column type.';

COMMENT ON COLUMN "poelis"."workspaces_history"."_valid_from" IS 'Sync time this version was first seen.';

COMMENT ON COLUMN "poelis"."workspaces_history"."_valid_to" IS 'Sync time this version stopped being current; null = current.';

COMMENT ON COLUMN "poelis"."workspaces_history"."_change" IS 'What made this version: insert (new or reappeared row), update, delete (the API''s soft delete turned on) or remove (vanished from its parent''s complete listing).';

COMMENT ON TABLE "poelis"."products_history" IS 'Every version of every row of `products`: the row as it was from `_valid_from` until `_valid_to` (null = current version).';

COMMENT ON COLUMN "poelis"."products_history"."id" IS 'The API''s stable UUID of the record.';

COMMENT ON COLUMN "poelis"."products_history"."readable_id" IS 'Human-readable slug; users can change it, so join on `id`.';

COMMENT ON COLUMN "poelis"."products_history"."workspace_id" IS 'Parent workspace.';

COMMENT ON COLUMN "poelis"."products_history"."name" IS 'Display name.';

COMMENT ON COLUMN "poelis"."products_history"."description" IS 'Free-text description.';

COMMENT ON COLUMN "poelis"."products_history"."baseline_version_number" IS 'Published version chosen as the baseline.';

COMMENT ON COLUMN "poelis"."products_history"."archived" IS 'Archived flag; null when the API omits it (its default is false).';

COMMENT ON COLUMN "poelis"."products_history"."status_id" IS 'Workflow status id (workspace-level).';

COMMENT ON COLUMN "poelis"."products_history"."status_name" IS 'Workflow status name, e.g. ''In Progress''.';

COMMENT ON COLUMN "poelis"."products_history"."status_color" IS 'Workflow status colour, hex.';

COMMENT ON COLUMN "poelis"."products_history"."status_group_key" IS 'Workflow status group, e.g. ''started''.';

COMMENT ON COLUMN "poelis"."products_history"."excluded_status_ids" IS 'JSON array of workspace statuses hidden for this product.';

COMMENT ON COLUMN "poelis"."products_history"."owner_id" IS 'User id (`auth0|…`) of the owner.';

COMMENT ON COLUMN "poelis"."products_history"."owner_name" IS 'Display name of the owner.';

COMMENT ON COLUMN "poelis"."products_history"."created_by_id" IS 'User id (`auth0|…`) of the created by.';

COMMENT ON COLUMN "poelis"."products_history"."created_by_name" IS 'Display name of the created by.';

COMMENT ON COLUMN "poelis"."products_history"."created_at" IS 'When the record was created (UTC).';

COMMENT ON COLUMN "poelis"."products_history"."updated_at" IS 'When the record was last updated (UTC).';

COMMENT ON COLUMN "poelis"."products_history"."updated_by_id" IS 'User id (`auth0|…`) of the updated by.';

COMMENT ON COLUMN "poelis"."products_history"."updated_by_name" IS 'Display name of the updated by.';

COMMENT ON COLUMN "poelis"."products_history"."_removed_at" IS 'When the row vanished from a complete listing of its parent (UTC); null while the API lists it.';

COMMENT ON COLUMN "poelis"."products_history"."_extra" IS 'JSON object of unknown API fields and of values that did not fit their column type.';

COMMENT ON COLUMN "poelis"."products_history"."_valid_from" IS 'Sync time this version was first seen.';

COMMENT ON COLUMN "poelis"."products_history"."_valid_to" IS 'Sync time this version stopped being current; null = current.';

COMMENT ON COLUMN "poelis"."products_history"."_change" IS 'What made this version: insert (new or reappeared row), update, delete (the API''s soft delete turned on) or remove (vanished from its parent''s complete listing).';

COMMENT ON TABLE "poelis"."items_history" IS 'Every version of every row of `items`: the row as it was from `_valid_from` until `_valid_to` (null = current version).';

COMMENT ON COLUMN "poelis"."items_history"."id" IS 'The API''s stable UUID of the record.';

COMMENT ON COLUMN "poelis"."items_history"."readable_id" IS 'Human-readable slug; users can change it, so join on `id`.';

COMMENT ON COLUMN "poelis"."items_history"."product_id" IS 'Parent product.';

COMMENT ON COLUMN "poelis"."items_history"."workspace_id" IS 'Workspace of the product (lineage for analysts).';

COMMENT ON COLUMN "poelis"."items_history"."name" IS 'Display name.';

COMMENT ON COLUMN "poelis"."items_history"."deleted" IS 'The API''s soft-delete flag (deleted records are kept).';

COMMENT ON COLUMN "poelis"."items_history"."parent_item_id" IS 'Parent item in the tree; null for a root item.';

COMMENT ON COLUMN "poelis"."items_history"."draft_item_id" IS 'Draft id of a versioned copy; null for the draft itself.';

COMMENT ON COLUMN "poelis"."items_history"."created_by_id" IS 'User id (`auth0|…`) of the created by.';

COMMENT ON COLUMN "poelis"."items_history"."created_by_name" IS 'Display name of the created by.';

COMMENT ON COLUMN "poelis"."items_history"."created_at" IS 'When the record was created (UTC).';

COMMENT ON COLUMN "poelis"."items_history"."updated_at" IS 'When the record was last updated (UTC).';

COMMENT ON COLUMN "poelis"."items_history"."updated_by_id" IS 'User id (`auth0|…`) of the updated by.';

COMMENT ON COLUMN "poelis"."items_history"."updated_by_name" IS 'Display name of the updated by.';

COMMENT ON COLUMN "poelis"."items_history"."owner_id" IS 'User id (`auth0|…`) of the owner.';

COMMENT ON COLUMN "poelis"."items_history"."owner_name" IS 'Display name of the owner.';

COMMENT ON COLUMN "poelis"."items_history"."owner_text" IS 'Legacy: free-text owner such as ''Engineering Team'' (older snapshots send `owner` as a string).';

COMMENT ON COLUMN "poelis"."items_history"."position" IS 'Legacy: sort order among siblings (older API snapshot).';

COMMENT ON COLUMN "poelis"."items_history"."has_changes" IS 'Legacy: the draft has unpublished changes (older API snapshot).';

COMMENT ON COLUMN "poelis"."items_history"."_removed_at" IS 'When the row vanished from a complete listing of its parent (UTC); null while the API lists it.';

COMMENT ON COLUMN "poelis"."items_history"."_extra" IS 'JSON object of unknown API fields and of values that did not fit their column type.';

COMMENT ON COLUMN "poelis"."items_history"."_valid_from" IS 'Sync time this version was first seen.';

COMMENT ON COLUMN "poelis"."items_history"."_valid_to" IS 'Sync time this version stopped being current; null = current.';

COMMENT ON COLUMN "poelis"."items_history"."_change" IS 'What made this version: insert (new or reappeared row), update, delete (the API''s soft delete turned on) or remove (vanished from its parent''s complete listing).';

COMMENT ON TABLE "poelis"."properties_history" IS 'Every version of every row of `properties`: the row as it was from `_valid_from` until `_valid_to` (null = current version).';

COMMENT ON COLUMN "poelis"."properties_history"."id" IS 'The API''s stable UUID of the record.';

COMMENT ON COLUMN "poelis"."properties_history"."readable_id" IS 'Human-readable slug; users can change it, so join on `id`.';

COMMENT ON COLUMN "poelis"."properties_history"."item_id" IS 'Parent item.';

COMMENT ON COLUMN "poelis"."properties_history"."product_id" IS 'Product of the item (lineage; the scope a sync lists completely).';

COMMENT ON COLUMN "poelis"."properties_history"."workspace_id" IS 'Workspace of the product (lineage for analysts).';

COMMENT ON COLUMN "poelis"."properties_history"."name" IS 'Display name.';

COMMENT ON COLUMN "poelis"."properties_history"."type" IS 'numeric, text, date, status, matrix or formula (unknown types are kept).';

COMMENT ON COLUMN "poelis"."properties_history"."value" IS 'The value exactly as received, as JSON text (non-finite numbers as the strings "NaN", "Infinity", "-Infinity").';

COMMENT ON COLUMN "poelis"."properties_history"."value_number" IS 'Numeric value: the number of a numeric property, or the leading number of a formula result such as ''10 kg''. NaN and ±Infinity are kept as IEEE values where the warehouse supports them.';

COMMENT ON COLUMN "poelis"."properties_history"."value_unit" IS 'Unit of the value: `display_unit` of numeric and matrix, the unit parsed from a formula result.';

COMMENT ON COLUMN "poelis"."properties_history"."value_si" IS '`value_number` in SI units (`si_unit`), so the values of a category add up whatever unit each was entered in: 2 t is 2000 kg, 20 °C is 293.15 K, `%` is 0.01, 12 pcs is 12. Converted only when the unit fits the category (kg for MASS, not pcs) or, without a known category (formula results, custom categories), from familiar engineering units only; else null, as when pint cannot read `value_unit`, and for matrices: their cells stay in `value_unit`.';

COMMENT ON COLUMN "poelis"."properties_history"."si_unit" IS 'SI unit of `value_si` (kg, m, W, Pa, K, s, W/kg, ...; N*m for TORQUE, J for ENERGY; 1 when dimensionless, e.g. `-`, `%` or pcs): what `value_unit` converts to, matrices included. Null when `value_unit` is not converted (see `value_si`).';

COMMENT ON COLUMN "poelis"."properties_history"."value_text" IS 'Text value of text, status and formula properties.';

COMMENT ON COLUMN "poelis"."properties_history"."value_date" IS 'Date value of date properties (null if the value is not an ISO date).';

COMMENT ON COLUMN "poelis"."properties_history"."value_matrix" IS 'Matrix value as compact JSON text of a 2-D array (`[]` when empty); null when the received matrix is malformed.';

COMMENT ON COLUMN "poelis"."properties_history"."deleted" IS 'The API''s soft-delete flag (deleted records are kept).';

COMMENT ON COLUMN "poelis"."properties_history"."category" IS 'Category of numeric and matrix properties, e.g. ''POWER''.';

COMMENT ON COLUMN "poelis"."properties_history"."display_unit" IS 'Display unit of numeric and matrix properties, e.g. ''kW''.';

COMMENT ON COLUMN "poelis"."properties_history"."formula_expression" IS 'Formula with `@{property_id}` tokens (formula properties only).';

COMMENT ON COLUMN "poelis"."properties_history"."draft_property_id" IS 'Draft id of a versioned copy; null for the draft itself.';

COMMENT ON COLUMN "poelis"."properties_history"."references" IS 'JSON array of source-document citations `{item_document_id, page}`.';

COMMENT ON COLUMN "poelis"."properties_history"."created_by_id" IS 'User id (`auth0|…`) of the created by.';

COMMENT ON COLUMN "poelis"."properties_history"."created_by_name" IS 'Display name of the created by.';

COMMENT ON COLUMN "poelis"."properties_history"."created_at" IS 'When the record was created (UTC).';

COMMENT ON COLUMN "poelis"."properties_history"."updated_at" IS 'When the record was last updated (UTC).';

COMMENT ON COLUMN "poelis"."properties_history"."updated_by_id" IS 'User id (`auth0|…`) of the updated by.';

COMMENT ON COLUMN "poelis"."properties_history"."updated_by_name" IS 'Display name of the updated by.';

COMMENT ON COLUMN "poelis"."properties_history"."owner_id" IS 'User id (`auth0|…`) of the owner.';

COMMENT ON COLUMN "poelis"."properties_history"."owner_name" IS 'Display name of the owner.';

COMMENT ON COLUMN "poelis"."properties_history"."owner_text" IS 'Legacy: free-text owner such as ''Engineering Team'' (older snapshots send `owner` as a string).';

COMMENT ON COLUMN "poelis"."properties_history"."position" IS 'Legacy: sort order among siblings (older API snapshot).';

COMMENT ON COLUMN "poelis"."properties_history"."has_changes" IS 'Legacy: the draft has unpublished changes (older API snapshot).';

COMMENT ON COLUMN "poelis"."properties_history"."has_formula_dependency_changes" IS 'Legacy: a formula input changed (older API snapshot).';

COMMENT ON COLUMN "poelis"."properties_history"."_removed_at" IS 'When the row vanished from a complete listing of its parent (UTC); null while the API lists it.';

COMMENT ON COLUMN "poelis"."properties_history"."_extra" IS 'JSON object of unknown API fields and of values that did not fit their column type.';

COMMENT ON COLUMN "poelis"."properties_history"."_valid_from" IS 'Sync time this version was first seen.';

COMMENT ON COLUMN "poelis"."properties_history"."_valid_to" IS 'Sync time this version stopped being current; null = current.';

COMMENT ON COLUMN "poelis"."properties_history"."_change" IS 'What made this version: insert (new or reappeared row), update, delete (the API''s soft delete turned on) or remove (vanished from its parent''s complete listing).';

COMMENT ON TABLE "poelis"."users_history" IS 'Every version of every row of `users`: the row as it was from `_valid_from` until `_valid_to` (null = current version).';

COMMENT ON COLUMN "poelis"."users_history"."id" IS 'The API''s stable UUID of the record.';

COMMENT ON COLUMN "poelis"."users_history"."name" IS 'Display name.';

COMMENT ON COLUMN "poelis"."users_history"."email" IS 'E-mail address.';

COMMENT ON COLUMN "poelis"."users_history"."org_role" IS 'Role in the organization, e.g. ''admin''.';

COMMENT ON COLUMN "poelis"."users_history"."workspace_access" IS 'JSON array of `{workspace_id, workspace_name, role}`: the workspaces the user may open.';

COMMENT ON COLUMN "poelis"."users_history"."product_access" IS 'JSON array of `{product_id, product_name, workspace_id, role}`; a product role overrides the workspace role.';

COMMENT ON COLUMN "poelis"."users_history"."_removed_at" IS 'When the row vanished from a complete listing of its parent (UTC); null while the API lists it.';

COMMENT ON COLUMN "poelis"."users_history"."_extra" IS 'JSON object of unknown API fields and of values that did not fit their column type.';

COMMENT ON COLUMN "poelis"."users_history"."_valid_from" IS 'Sync time this version was first seen.';

COMMENT ON COLUMN "poelis"."users_history"."_valid_to" IS 'Sync time this version stopped being current; null = current.';

COMMENT ON COLUMN "poelis"."users_history"."_change" IS 'What made this version: insert (new or reappeared row), update, delete (the API''s soft delete turned on) or remove (vanished from its parent''s complete listing).';

COMMENT ON TABLE "poelis"."item_sync_state" IS 'When each item''s properties were last listed, and the item''s listing record at that time: what an incremental sync chooses the items to re-list from. Written in the same transaction as the item''s properties, by full and incremental syncs.';

COMMENT ON COLUMN "poelis"."item_sync_state"."item_id" IS 'The item (`items.id`).';

COMMENT ON COLUMN "poelis"."item_sync_state"."product_id" IS 'Product of the item when listed.';

COMMENT ON COLUMN "poelis"."item_sync_state"."workspace_id" IS 'Workspace of the product when listed.';

COMMENT ON COLUMN "poelis"."item_sync_state"."properties_listed_at" IS 'When the listing of the item''s properties started (UTC): its properties are at least this fresh. Null once the item vanished from its product''s listing (its properties were removed).';

COMMENT ON COLUMN "poelis"."item_sync_state"."properties_count" IS 'Properties the listing returned (deleted ones included).';

COMMENT ON COLUMN "poelis"."item_sync_state"."listed_item_updated_at" IS 'The item''s `updated_at` when its properties were listed (a change hints at property edits).';

COMMENT ON COLUMN "poelis"."item_sync_state"."listed_item_name" IS 'The item''s name when its properties were listed.';

COMMENT ON COLUMN "poelis"."item_sync_state"."listed_parent_item_id" IS 'The item''s parent when its properties were listed.';

COMMENT ON COLUMN "poelis"."item_sync_state"."deleted_when_listed" IS 'The item''s soft-delete flag when its properties were listed: a soft-deleted item is listed once after its deletion is seen, then left alone.';

COMMENT ON COLUMN "poelis"."item_sync_state"."run_id" IS 'The sync run that listed them (a resumed run skips its own items).';

COMMENT ON TABLE "poelis"."product_versions" IS 'The published versions the sync knows of, one row per (product, version): found from `baseline_version_number` and by probing `version=N` (no endpoint lists versions), and how far their content is stored. Only `complete` versions are whole in `item_versions` / `property_versions`; a complete version is never requested again.';

COMMENT ON COLUMN "poelis"."product_versions"."product_id" IS 'The product (`products.id`).';

COMMENT ON COLUMN "poelis"."product_versions"."workspace_id" IS 'Workspace of the product.';

COMMENT ON COLUMN "poelis"."product_versions"."version_number" IS 'The published version.';

COMMENT ON COLUMN "poelis"."product_versions"."is_baseline" IS 'The version is the product''s `baseline_version_number` (as the last sync saw the product).';

COMMENT ON COLUMN "poelis"."product_versions"."status" IS '`pending` (found, content not or not wholly stored), `complete` (every item and every item''s properties stored) or `missing` (the API answered 404 for it at `last_probe_at`: not published yet, or a baseline number that points at no version).';

COMMENT ON COLUMN "poelis"."product_versions"."item_count" IS 'Items the version lists (soft-deleted included).';

COMMENT ON COLUMN "poelis"."product_versions"."property_count" IS 'Properties stored for the version so far (all of them once `complete`).';

COMMENT ON COLUMN "poelis"."product_versions"."discovered_at" IS 'When the sync first found the version (UTC).';

COMMENT ON COLUMN "poelis"."product_versions"."completed_at" IS 'When its content was wholly stored (UTC).';

COMMENT ON COLUMN "poelis"."product_versions"."last_probe_at" IS 'When the API was last asked for the version without completing it (a 404, an empty or broken listing); it is asked again a day later (UTC). On a `missing` row, when the product was last probed for a newer version.';

COMMENT ON COLUMN "poelis"."product_versions"."note" IS 'Why the version is missing or not complete yet, when known.';

COMMENT ON TABLE "poelis"."item_versions" IS 'Items of every stored published version, one row per (product, version, item id), as `GET /items?version=N` lists them (soft-deleted included). An item unchanged since the draft keeps the draft''s id; a changed one is a copy with a new `id` and `draft_item_id` pointing at the draft. `parent_item_id` holds draft-scoped ids: join a parent on `COALESCE(draft_item_id, id)`. A row means the item''s properties of that version are stored too.';

COMMENT ON COLUMN "poelis"."item_versions"."id" IS 'The API''s stable UUID of the record.';

COMMENT ON COLUMN "poelis"."item_versions"."readable_id" IS 'Human-readable slug; users can change it, so join on `id`.';

COMMENT ON COLUMN "poelis"."item_versions"."product_id" IS 'Parent product.';

COMMENT ON COLUMN "poelis"."item_versions"."version_number" IS 'The published version (1, 2, ...) this row belongs to.';

COMMENT ON COLUMN "poelis"."item_versions"."workspace_id" IS 'Workspace of the product (lineage for analysts).';

COMMENT ON COLUMN "poelis"."item_versions"."name" IS 'Display name.';

COMMENT ON COLUMN "poelis"."item_versions"."deleted" IS 'The API''s soft-delete flag (deleted records are kept).';

COMMENT ON COLUMN "poelis"."item_versions"."parent_item_id" IS 'Parent item in the tree; null for a root item.';

COMMENT ON COLUMN "poelis"."item_versions"."draft_item_id" IS 'Draft id of a versioned copy; null for the draft itself.';

COMMENT ON COLUMN "poelis"."item_versions"."created_by_id" IS 'User id (`auth0|…`) of the created by.';

COMMENT ON COLUMN "poelis"."item_versions"."created_by_name" IS 'Display name of the created by.';

COMMENT ON COLUMN "poelis"."item_versions"."created_at" IS 'When the record was created (UTC).';

COMMENT ON COLUMN "poelis"."item_versions"."updated_at" IS 'When the record was last updated (UTC).';

COMMENT ON COLUMN "poelis"."item_versions"."updated_by_id" IS 'User id (`auth0|…`) of the updated by.';

COMMENT ON COLUMN "poelis"."item_versions"."updated_by_name" IS 'Display name of the updated by.';

COMMENT ON COLUMN "poelis"."item_versions"."owner_id" IS 'User id (`auth0|…`) of the owner.';

COMMENT ON COLUMN "poelis"."item_versions"."owner_name" IS 'Display name of the owner.';

COMMENT ON COLUMN "poelis"."item_versions"."owner_text" IS 'Legacy: free-text owner such as ''Engineering Team'' (older snapshots send `owner` as a string).';

COMMENT ON COLUMN "poelis"."item_versions"."position" IS 'Legacy: sort order among siblings (older API snapshot).';

COMMENT ON COLUMN "poelis"."item_versions"."has_changes" IS 'Legacy: the draft has unpublished changes (older API snapshot).';

COMMENT ON COLUMN "poelis"."item_versions"."_synced_at" IS 'When the sync stored this row (UTC). A published version never changes, so it is stored once.';

COMMENT ON COLUMN "poelis"."item_versions"."_extra" IS 'JSON object of unknown API fields and of values that did not fit their column type.';

COMMENT ON TABLE "poelis"."property_versions" IS 'Properties of every stored published version, one row per (product, version, property id), as `GET /properties?version=N` lists them (soft-deleted included), with the same typed values as `properties`. `item_id` is the draft-scoped item id (`COALESCE(item_versions.draft_item_id, item_versions.id)`); match a property across versions and the draft on `COALESCE(draft_property_id, id)`.';

COMMENT ON COLUMN "poelis"."property_versions"."id" IS 'The API''s stable UUID of the record.';

COMMENT ON COLUMN "poelis"."property_versions"."readable_id" IS 'Human-readable slug; users can change it, so join on `id`.';

COMMENT ON COLUMN "poelis"."property_versions"."item_id" IS 'Parent item.';

COMMENT ON COLUMN "poelis"."property_versions"."product_id" IS 'Product of the item (lineage; the scope a sync lists completely).';

COMMENT ON COLUMN "poelis"."property_versions"."version_number" IS 'The published version (1, 2, ...) this row belongs to.';

COMMENT ON COLUMN "poelis"."property_versions"."workspace_id" IS 'Workspace of the product (lineage for analysts).';

COMMENT ON COLUMN "poelis"."property_versions"."name" IS 'Display name.';

COMMENT ON COLUMN "poelis"."property_versions"."type" IS 'numeric, text, date, status, matrix or formula (unknown types are kept).';

COMMENT ON COLUMN "poelis"."property_versions"."value" IS 'The value exactly as received, as JSON text (non-finite numbers as the strings "NaN", "Infinity", "-Infinity").';

COMMENT ON COLUMN "poelis"."property_versions"."value_number" IS 'Numeric value: the number of a numeric property, or the leading number of a formula result such as ''10 kg''. NaN and ±Infinity are kept as IEEE values where the warehouse supports them.';

COMMENT ON COLUMN "poelis"."property_versions"."value_unit" IS 'Unit of the value: `display_unit` of numeric and matrix, the unit parsed from a formula result.';

COMMENT ON COLUMN "poelis"."property_versions"."value_si" IS '`value_number` in SI units (`si_unit`), so the values of a category add up whatever unit each was entered in: 2 t is 2000 kg, 20 °C is 293.15 K, `%` is 0.01, 12 pcs is 12. Converted only when the unit fits the category (kg for MASS, not pcs) or, without a known category (formula results, custom categories), from familiar engineering units only; else null, as when pint cannot read `value_unit`, and for matrices: their cells stay in `value_unit`.';

COMMENT ON COLUMN "poelis"."property_versions"."si_unit" IS 'SI unit of `value_si` (kg, m, W, Pa, K, s, W/kg, ...; N*m for TORQUE, J for ENERGY; 1 when dimensionless, e.g. `-`, `%` or pcs): what `value_unit` converts to, matrices included. Null when `value_unit` is not converted (see `value_si`).';

COMMENT ON COLUMN "poelis"."property_versions"."value_text" IS 'Text value of text, status and formula properties.';

COMMENT ON COLUMN "poelis"."property_versions"."value_date" IS 'Date value of date properties (null if the value is not an ISO date).';

COMMENT ON COLUMN "poelis"."property_versions"."value_matrix" IS 'Matrix value as compact JSON text of a 2-D array (`[]` when empty); null when the received matrix is malformed.';

COMMENT ON COLUMN "poelis"."property_versions"."deleted" IS 'The API''s soft-delete flag (deleted records are kept).';

COMMENT ON COLUMN "poelis"."property_versions"."category" IS 'Category of numeric and matrix properties, e.g. ''POWER''.';

COMMENT ON COLUMN "poelis"."property_versions"."display_unit" IS 'Display unit of numeric and matrix properties, e.g. ''kW''.';

COMMENT ON COLUMN "poelis"."property_versions"."formula_expression" IS 'Formula with `@{property_id}` tokens (formula properties only).';

COMMENT ON COLUMN "poelis"."property_versions"."draft_property_id" IS 'Draft id of a versioned copy; null for the draft itself.';

COMMENT ON COLUMN "poelis"."property_versions"."references" IS 'JSON array of source-document citations `{item_document_id, page}`.';

COMMENT ON COLUMN "poelis"."property_versions"."created_by_id" IS 'User id (`auth0|…`) of the created by.';

COMMENT ON COLUMN "poelis"."property_versions"."created_by_name" IS 'Display name of the created by.';

COMMENT ON COLUMN "poelis"."property_versions"."created_at" IS 'When the record was created (UTC).';

COMMENT ON COLUMN "poelis"."property_versions"."updated_at" IS 'When the record was last updated (UTC).';

COMMENT ON COLUMN "poelis"."property_versions"."updated_by_id" IS 'User id (`auth0|…`) of the updated by.';

COMMENT ON COLUMN "poelis"."property_versions"."updated_by_name" IS 'Display name of the updated by.';

COMMENT ON COLUMN "poelis"."property_versions"."owner_id" IS 'User id (`auth0|…`) of the owner.';

COMMENT ON COLUMN "poelis"."property_versions"."owner_name" IS 'Display name of the owner.';

COMMENT ON COLUMN "poelis"."property_versions"."owner_text" IS 'Legacy: free-text owner such as ''Engineering Team'' (older snapshots send `owner` as a string).';

COMMENT ON COLUMN "poelis"."property_versions"."position" IS 'Legacy: sort order among siblings (older API snapshot).';

COMMENT ON COLUMN "poelis"."property_versions"."has_changes" IS 'Legacy: the draft has unpublished changes (older API snapshot).';

COMMENT ON COLUMN "poelis"."property_versions"."has_formula_dependency_changes" IS 'Legacy: a formula input changed (older API snapshot).';

COMMENT ON COLUMN "poelis"."property_versions"."_synced_at" IS 'When the sync stored this row (UTC). A published version never changes, so it is stored once.';

COMMENT ON COLUMN "poelis"."property_versions"."_extra" IS 'JSON object of unknown API fields and of values that did not fit their column type.';

COMMENT ON TABLE "poelis"."sync_runs" IS 'One row per (run, table, scope) a sync merged: timing, outcome, API traffic and row counts.';

COMMENT ON COLUMN "poelis"."sync_runs"."run_id" IS 'Id of the sync run (the Dagster run id).';

COMMENT ON COLUMN "poelis"."sync_runs"."table_name" IS 'Table the run merged, or ''(cli sync)'' for the row recording a whole CLI sync''s outcome.';

COMMENT ON COLUMN "poelis"."sync_runs"."scope" IS 'Parent listed completely (workspace or product id), or ''*'' for all; for an incremental properties run, `<product id>:<first item id>:<n>` (n items of the product listed completely) or ''(vanished items)''.';

COMMENT ON COLUMN "poelis"."sync_runs"."started_at" IS 'When this scope started (UTC).';

COMMENT ON COLUMN "poelis"."sync_runs"."finished_at" IS 'When this scope finished (UTC); null while running.';

COMMENT ON COLUMN "poelis"."sync_runs"."status" IS 'running, success, failed, or interrupted (a CLI sync stopped by Ctrl-C or SIGTERM).';

COMMENT ON COLUMN "poelis"."sync_runs"."requests" IS 'HTTP requests sent.';

COMMENT ON COLUMN "poelis"."sync_runs"."retries" IS 'Requests retried.';

COMMENT ON COLUMN "poelis"."sync_runs"."rate_limited" IS '429 responses received.';

COMMENT ON COLUMN "poelis"."sync_runs"."seconds_waited" IS 'Seconds spent waiting for rate limits and back-off.';

COMMENT ON COLUMN "poelis"."sync_runs"."rows_inserted" IS 'Rows inserted (new or reappeared).';

COMMENT ON COLUMN "poelis"."sync_runs"."rows_updated" IS 'Rows whose data changed (soft deletes included).';

COMMENT ON COLUMN "poelis"."sync_runs"."rows_unchanged" IS 'Rows seen again without a change.';

COMMENT ON COLUMN "poelis"."sync_runs"."rows_removed" IS 'Rows that vanished from the scope''s listing.';

COMMENT ON COLUMN "poelis"."sync_runs"."error" IS 'Error text of a failed scope (secrets scrubbed by the caller).';
