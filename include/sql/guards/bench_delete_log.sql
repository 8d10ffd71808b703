-- purpose: the insert bench removes the guard log rows its copies caused
delete from {{ log_table }}
where table_name = %(table)s
  and row_id > %(largest)s
