-- Paths dropped (DELETE) while some node could not confirm: a pass deletes them again from
-- every node, and no pass restores their copies, until every node confirmed.
CREATE TABLE tombstones (
  path TEXT PRIMARY KEY
) WITHOUT ROWID;
