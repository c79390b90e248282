-- CTEs (no WITH): every service's latest figure at each of the moments in CTE `times`, for the services in
-- CTE `services`, within the longest freshness window (ties: the latest loaded), as CTE `scanned`. Each
-- observation is read once: the latest per service in each interval between consecutive moments (the first
-- reaching back one window), carried forward to later moments while it is inside the window.
-- A figure exactly as old as the window is inside it (fresh while its age is at most the window, in elapsed
-- time: a day is 24 hours); the first interval therefore starts one microsecond (TIMESTAMPTZ's resolution)
-- before the window. Parameters: $max_window_days, $window_start, $window_end (bounds of the scan, the start
-- inclusive).
intervals AS (
    SELECT at_ts, coalesce(lag(at_ts) OVER (ORDER BY at_ts),
                           at_ts - to_hours(24 * $max_window_days) - to_microseconds(1)) AS after_ts
    FROM (SELECT DISTINCT at_ts FROM times)
),
bucketed AS (
    SELECT i.at_ts, o.service_id,
           arg_max({'valid_at': o.valid_at, 'source_id': o.source_id, 'unit': o.unit, 'maximum': o.maximum,
                    'available': o.available, 'status': o.status, 'waiting_count': o.waiting_count,
                    'wait_days_intake': o.wait_days_intake, 'wait_days_treatment': o.wait_days_treatment},
                   {'valid_at': o.valid_at, 'ingested_at': o.ingested_at}) AS o
    FROM intervals AS i
    JOIN capacity_observation AS o ON o.valid_at <= i.at_ts AND o.valid_at > i.after_ts
    WHERE o.valid_at >= $window_start AND o.valid_at <= $window_end
      AND o.service_id IN (SELECT service_id FROM services)
    GROUP BY i.at_ts, o.service_id
),
carried AS (
    SELECT i.at_ts, b.service_id,
           last_value(x.o IGNORE NULLS) OVER (PARTITION BY b.service_id ORDER BY i.at_ts
                                              ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS o
    FROM intervals AS i
    CROSS JOIN (SELECT DISTINCT service_id FROM bucketed) AS b
    LEFT JOIN bucketed AS x ON x.at_ts = i.at_ts AND x.service_id = b.service_id
),
scanned AS (
    SELECT at_ts, service_id, o FROM carried WHERE o IS NOT NULL AND o.valid_at >= at_ts - to_hours(24 * $max_window_days)
)
