"""Administration: offices, users and tokens, sign-in sessions, the working-day calendar."""
