-- purpose: the seed's own one-shot Phase 1 statement (seed 001, Appendix A), verbatim but for formatting
update customers c
set c.company_id = (
    select distinct company_id
    from appointments
    where customer_id = c.id
    limit 1
)
where c.company_id is null
  and exists (select 1 from appointments where customer_id = c.id)
  and (
    select count(distinct company_id)
    from appointments
    where customer_id = c.id
  ) = 1
