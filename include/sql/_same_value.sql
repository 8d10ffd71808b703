-- purpose: (shared macro) are two values of the same column definition the same, byte for byte?
{#
  Under a _ci collation 'anna' = 'Anna', and a copy in another collation does not compare at all
  (illegal mix of collations). A backup column has its target column's exact definition, so their
  bytes are equal exactly when the values are: a case-only change by the application counts as a change.
#}
{% macro same_value(left, right) -%}
cast({{ left }} as binary) <=> cast({{ right }} as binary)
{%- endmacro %}
