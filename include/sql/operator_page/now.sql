-- purpose: the database's clock in UTC: ages and rates are measured against the clock that stamped the rows
select utc_timestamp(6) as now
