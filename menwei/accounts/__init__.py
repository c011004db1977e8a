"""Sign-in accounts: the login page, sessions' sign-in and sign-out, and the account API."""
