-- Whether any source carries demonstration data (marked `demo = true` in sources.toml).
SELECT EXISTS (SELECT 1 FROM source WHERE demo) AS shows_demo_data
