"""Users of the platform (customers, staff, platform operators) and their sign-in sessions."""
