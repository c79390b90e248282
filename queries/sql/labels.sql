-- Readable names of care types and target groups, in reporting order.
SELECT 'care_type' AS kind, care_type AS code, label_nl, label_en, sort_order FROM care_type
UNION ALL
SELECT 'target_group', target_group, label_nl, label_en, sort_order FROM target_group
ORDER BY kind, sort_order
