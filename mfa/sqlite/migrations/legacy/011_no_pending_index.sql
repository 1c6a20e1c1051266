-- The runner finds a job's next rows by their position (after the last row it applied) instead of
-- an index of the rows still pending: that index cost a write for every planned row and another for
-- every applied one, a million of each in a large job.
DROP INDEX bulk_rows_pending;
