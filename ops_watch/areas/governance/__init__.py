"""Paperwork (管理资料): audit materials (audit/), unannounced inspections (inspections/), the satisfaction
survey (survey/), the archive (archive/), the contract text (contract_text/) and the report section."""
