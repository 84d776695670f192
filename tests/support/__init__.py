"""Helpers shared by the test modules (no tests here): `apply` (a seed, config files and the CLI
against an emulator), `plan_builders` (hand-built desired and live states), `terminal` (hostile
names and the check that output shows them safely), `emulators` (the shared emulator pool) and
`logins` (a seed with login history, a live organization of plain users)."""
