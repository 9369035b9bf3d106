package dev.pekkoprover.appchain.tx;

import dev.pekkoprover.appchain.state.AccountState;
import dev.pekkoprover.appchain.state.StateTransition;
import java.util.List;

/**
 * The chain's one runtime method, shared by the mempool (admission), the sequencer (execution and
 * tracing) and the runtime prover (proving): a transfer debits the sender and bumps its nonce, then
 * credits the recipient. It always emits two transitions, sender first; a transfer to oneself emits
 * the credit on the debited state.
 */
public final class TransferRules {
  private TransferRules() {}

  /** Why a transfer cannot run on the given state. */
  public static final class Rejected extends Exception {
    private static final long serialVersionUID = 1L;

    private final RefusalReason reason;

    Rejected(RefusalReason reason, String message) {
      super(message, null, false, false);
      this.reason = reason;
    }

    public RefusalReason reason() {
      return reason;
    }
  }

  /**
   * The transitions of {@code transfer} run on these pre-states (signature not checked here).
   *
   * @param recipient the recipient's state before the transfer (ignored for a transfer to oneself)
   */
  public static List<StateTransition> apply(
      Transfer transfer, AccountState sender, AccountState recipient) throws Rejected {
    if (transfer.amount() <= 0) {
      throw new Rejected(
          RefusalReason.INVALID_AMOUNT, "amount must be positive, was " + transfer.amount());
    }
    if (transfer.nonce() != sender.nonce()) {
      throw new Rejected(
          RefusalReason.BAD_NONCE,
          "nonce "
              + transfer.nonce()
              + " is not the sender's next nonce "
              + sender.nonce()
              + (transfer.nonce() < sender.nonce() ? " (already used)" : " (a gap)"));
    }
    if (sender.balance() < transfer.amount()) {
      throw new Rejected(
          RefusalReason.OVERDRAFT,
          "amount " + transfer.amount() + " exceeds the sender's balance " + sender.balance());
    }
    AccountState debited =
        new AccountState(sender.balance() - transfer.amount(), sender.nonce() + 1);
    AccountState before = transfer.from().equals(transfer.to()) ? debited : recipient;
    if (before.balance() > Long.MAX_VALUE - transfer.amount()) {
      throw new Rejected(
          RefusalReason.INVALID_AMOUNT,
          "the recipient's balance " + before.balance() + " would overflow");
    }
    AccountState credited = new AccountState(before.balance() + transfer.amount(), before.nonce());
    return List.of(
        new StateTransition(transfer.from(), sender, debited),
        new StateTransition(transfer.to(), before, credited));
  }
}
