"""store: reaching the target database and the shared files — connections (db), rendered SQL (sql), the
bookkeeping tables (bookkeeping), the account's privileges (privileges) and the run files in the storage base
(storage).

May import: core. Airflow only lazily, as a door to its services: an Airflow connection (db.DbTarget.from_airflow)
and its ObjectStoragePath (storage); the rest of the package runs without Airflow.
"""
