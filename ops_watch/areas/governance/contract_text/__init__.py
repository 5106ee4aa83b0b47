"""The contract text (合同文本): the [contract_text] terms, contracts dropped as evidence and linted (repealed
laws, required clauses), the checks and the `contract` command."""
