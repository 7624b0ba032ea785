"""Service functions: the application's rules, called by thin controllers and by the command line."""
