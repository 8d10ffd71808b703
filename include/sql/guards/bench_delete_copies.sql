-- purpose: the insert bench removes its copies again (every key above the largest one before it began)
delete from {{ target.table }}
where {{ target.key }} > %(largest)s
