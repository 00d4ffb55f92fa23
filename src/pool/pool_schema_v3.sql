-- v3: a package's metadata paragraph is stored as deb822 text (pool/paragraph.h), which the
-- publisher renders from without parsing JSON. Rows of v1/v2 keep their JSON in `fields` until
-- PoolStore::open converts them (paragraph set, fields emptied) in one transaction.
ALTER TABLE packages ADD COLUMN paragraph TEXT;
