"""Step 1 · List the clients (notebook 01): the company folder → checked tables and an audit of the client base.

Takes:   a company folder (clients.csv or a transaction log; placement, deals, prospects, contacts,
         relationship scores, dossier, company.yml and criteria.yml when present).
Returns: `Company` (checked tables, settings, every problem as file:row:column — what — fix) from
         `load_company`; `ClientAudit` (mix, concentration, price mix, key clients, types) from
         `audit_clients`; `KeyClientWork` (cadence, relationship, dossier, risk) from `study_key_clients`.

Reading order: settings → readers → parsing → columns → schema → load; then client_figures, audit,
key_clients; anonymise is applied right after loading.
"""

from helpers.step1_list_clients.audit import ClientAudit, audit_clients
from helpers.step1_list_clients.company import Company
from helpers.step1_list_clients.key_clients import KeyClientWork, study_key_clients
from helpers.step1_list_clients.load import CheckResult, check_company, load_company

__all__ = ["CheckResult", "ClientAudit", "Company", "KeyClientWork", "audit_clients", "check_company",
           "load_company", "study_key_clients"]
