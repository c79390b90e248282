"""The Dash app: one module per page, reading only through queries/."""
