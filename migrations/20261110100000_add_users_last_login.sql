-- parent: 20261105141500_create_projects
-- migrate:up
ALTER TABLE users ADD COLUMN last_login timestamptz;

CREATE FUNCTION touch_last_login(user_id bigint) RETURNS void
LANGUAGE sql AS $$
    UPDATE users SET last_login = now() WHERE id = user_id;
$$;

-- migrate:down
DROP FUNCTION touch_last_login(bigint);
ALTER TABLE users DROP COLUMN last_login;
