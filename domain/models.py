"""Imports every model so the metadata (Alembic, mappers) knows the whole schema."""
from domain.accounting.models import LedgerEntry, Payment, PaymentAllocation  # noqa: F401
from domain.audit.models import AuditEvent  # noqa: F401
from domain.billing.models import Bill, BillLine, BillNumberSequence  # noqa: F401
from domain.brand.models import IdentityVersion, PortalPage  # noqa: F401
from domain.billing.plan_models import DownPaymentInstalment, DownPaymentPlan  # noqa: F401
from domain.billing.run_models import BillingException, BillingRun, BillingRunChunk  # noqa: F401
from domain.contracts.models import Contract, CustomerAccount  # noqa: F401
from domain.identity.models import (  # noqa: F401
    CustomerAccess,
    CustomerUser,
    EmailVerification,
    LoginSession,
    OperatorSession,
    PasswordResetToken,
    PlatformOperator,
    StaffRoleGrant,
    StaffUser,
)
from domain.identity.invitation_models import StaffInvitation  # noqa: F401
from domain.communications.models import FailingAddress, Message, NotificationOptOut  # noqa: F401
from domain.offers.models import Offer, TariffComponent, TariffVersion, UnitPrice  # noqa: F401
from domain.parties.models import ContactPoint, Party, PartyRole  # noqa: F401
from domain.payments.collection_models import CollectionBatch, CollectionItem  # noqa: F401
from domain.payments.models import DirectDebitMandate, PaymentEvent, PaymentReversal  # noqa: F401
from domain.imports.models import CustomerImport, CustomerImportChunk  # noqa: F401
from domain.readings.models import MeterReading  # noqa: F401
from domain.requests.models import RequestAttachment, RequestMessage, ServiceRequest  # noqa: F401
from domain.sites.models import DeliveryPoint, Meter, MeterInstallation, Premise, Register  # noqa: F401
from domain.tasks.models import Task, WorkGroup, WorkGroupMember  # noqa: F401
from tenants.models import Tenant  # noqa: F401
from tenants.export_models import TenantExport  # noqa: F401
from domain.campaigns.models import Campaign, CampaignRecipient, CampaignTemplate, MarketingOptOut  # noqa: F401
from domain.contacts.models import ContactLogEntry  # noqa: F401
from domain.collections.models import (  # noqa: F401
    ArrangementBill, ArrangementInstalment, BillDispute, DunningLetter, DunningLevel, DunningSettings, DunningStep,
    PaymentArrangement,
)
from domain.collections.money_models import ManualPayment, Refund, WriteOff, WriteOffLine  # noqa: F401
from domain.collections.statements.models import BankStatement, StatementEntry  # noqa: F401
from domain.search.models import AccountSearchDocument, SearchWord  # noqa: F401
from domain.apikeys.models import ApiCall, ApiIdempotentAnswer, ApiKey  # noqa: F401
