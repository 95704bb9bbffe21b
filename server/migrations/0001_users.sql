-- Users: who each WeChat user is. Written in the SQL that SQLite and PostgreSQL share (TEXT,
-- BIGINT), because the same migration runs on both through sqlx's Any driver. Times are Unix
-- milliseconds in UTC.
CREATE TABLE users (
    uid TEXT PRIMARY KEY,
    openid TEXT NOT NULL UNIQUE,
    unionid TEXT,
    nickname TEXT,
    -- The stored file's name under <data dir>/avatars/, not a URL: the URL depends on where the
    -- server is reached and is built for each answer.
    avatar TEXT,
    -- As WeChat gives it (phoneNumber: with the country code for numbers outside mainland China).
    phone TEXT,
    created_at BIGINT NOT NULL,
    last_login_at BIGINT NOT NULL
);

CREATE INDEX users_unionid ON users (unionid);
