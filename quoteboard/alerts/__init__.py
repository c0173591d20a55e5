"""Price alerts: the rules and the book of them (book), and the command run when one fires (command)."""
