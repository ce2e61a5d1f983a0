-- parent: 20261102093000_create_users
-- migrate:up
CREATE TYPE project_status AS ENUM ('active', 'archived');

CREATE TABLE projects (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    owner_id    bigint REFERENCES users (id) ON DELETE SET NULL,
    name        text NOT NULL,
    status      project_status NOT NULL DEFAULT 'active',
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, name)
);

-- migrate:down
DROP TABLE projects;
DROP TYPE project_status;
