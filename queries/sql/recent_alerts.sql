-- The latest alerts and digests queued, newest first, with how their message went (mail or webhook state).
-- Parameter: $limit.
SELECT a.evaluated_at AS queued_at, a.subscription_id, a.kind, a.transitions,
       coalesce(m.state, w.state) AS state,
       CASE WHEN a.message_id IS NOT NULL THEN 'email' ELSE 'webhook' END AS channel
FROM alert_sent AS a
LEFT JOIN mail_outbox AS m ON m.message_id = a.message_id
LEFT JOIN webhook_outbox AS w ON w.delivery_id = a.delivery_id
UNION ALL
SELECT d.queued_at, d.subscription_id, 'digest' AS kind, '[]' AS transitions,
       coalesce(m.state, w.state) AS state,
       CASE WHEN d.message_id IS NOT NULL THEN 'email' ELSE 'webhook' END AS channel
FROM digest_sent AS d
LEFT JOIN mail_outbox AS m ON m.message_id = d.message_id
LEFT JOIN webhook_outbox AS w ON w.delivery_id = d.delivery_id
ORDER BY queued_at DESC, subscription_id
LIMIT $limit
