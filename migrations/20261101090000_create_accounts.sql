-- The root revision: accounts own everything else.
-- migrate:up
CREATE TABLE accounts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- migrate:down
DROP TABLE accounts;
