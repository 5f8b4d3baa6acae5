-- City data (issue 15): the city's own files (green-card honour lists, sent by its admins)
-- are imports too, owned by `city`.
ALTER TABLE imports DROP CONSTRAINT imports_owner_kind_check;
ALTER TABLE imports ADD CONSTRAINT imports_owner_kind_check CHECK (owner_kind IN ('partner', 'city'));
