"""The contractor score (考核): the [score] terms, the weighing of the indicators every area registers, the
score's own check and command."""
