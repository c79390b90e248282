-- Municipalities and inhabitants on the latest population reference date.
WITH latest AS (
    SELECT gemeente_code, arg_max(inhabitants, reference_date) AS inhabitants, max(reference_date) AS reference_date
    FROM population
    GROUP BY gemeente_code
)
SELECT (SELECT count(*) FROM municipality) AS municipalities,
       coalesce(sum(inhabitants), 0) AS inhabitants,
       max(reference_date) AS population_date
FROM latest
