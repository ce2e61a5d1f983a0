-- parent: 20261110100000_add_users_last_login
-- transaction: false
-- CREATE INDEX CONCURRENTLY cannot run inside a transaction: this revision runs statement by statement.
-- migrate:up
CREATE INDEX CONCURRENTLY projects_active_idx ON projects (account_id) WHERE status = 'active';

-- migrate:down
DROP INDEX CONCURRENTLY projects_active_idx;
