import type { GraphQLResolveInfo, GraphQLScalarType, GraphQLScalarTypeConfig } from 'graphql';
import type { UserReference, Context } from '../loaders.js';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type RequireFields<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: NonNullable<T[P]> };
/** All built-in and custom scalars, mapped to their actual values */
export type Scalars = {
  ID: { input: string; output: string; }
  String: { input: string; output: string; }
  Boolean: { input: boolean; output: boolean; }
  Int: { input: number; output: number; }
  Float: { input: number; output: number; }
  /** An instant in time, ISO 8601 in UTC, e.g. 2026-11-26T12:00:00.000Z. */
  DateTime: { input: string; output: string; }
  _FieldSet: { input: unknown; output: unknown; }
};

/** How long an answer may be kept, and by whom: the gateway's Cache-Control (private: the user's own cache only). */
export type CacheControlScope =
  | 'PRIVATE'
  | 'PUBLIC';

/** Whether mail to an address reaches it. */
export type EmailDeliverability =
  /** The address bounced; the provider suppresses mail to it. */
  | 'BOUNCED'
  /** Mail to the address is being delivered. */
  | 'DELIVERABLE';

/** One message sent through the email provider. */
export type EmailMessage = {
  __typename?: 'EmailMessage';
  clicks: Scalars['Int']['output'];
  from: Scalars['String']['output'];
  /** The provider's message id. */
  id: Scalars['ID']['output'];
  /** When the provider last recorded an event for this message. */
  lastEventAt: Scalars['DateTime']['output'];
  opens: Scalars['Int']['output'];
  status: EmailMessageStatus;
  subject: Scalars['String']['output'];
  to: Scalars['String']['output'];
};

/** Where a message is in delivery, as the provider reports it. */
export type EmailMessageStatus =
  /** The recipient's server refused it (from delivery webhooks). */
  | 'BOUNCED'
  /** Delivered to the receiving server. */
  | 'DELIVERED'
  /** Dropped, bounced or deferred past retrying. */
  | 'NOT_DELIVERED'
  /** Delivered and opened (from delivery webhooks). */
  | 'OPENED'
  /** Accepted and being processed by the provider. */
  | 'PROCESSED';

/** One step in a message's delivery. */
export type EmailMessageUpdate = {
  __typename?: 'EmailMessageUpdate';
  /** The event's id: pass it as `after` to resume after it. */
  eventId: Scalars['String']['output'];
  /** The provider's message id. */
  messageId: Scalars['ID']['output'];
  /** Which provider told it. */
  provider: Scalars['String']['output'];
  status: EmailMessageStatus;
};

/** A send made with an idempotency key, as far as it is known. */
export type EmailSend = {
  __typename?: 'EmailSend';
  idempotencyKey: Scalars['String']['output'];
  /** The provider's message id, once known. */
  messageId?: Maybe<Scalars['ID']['output']>;
  /** Which provider took the message, once known. */
  provider?: Maybe<Scalars['String']['output']>;
  /** Our own id of the send, also attached to the message as metadata. */
  sendId: Scalars['ID']['output'];
  state: EmailSendState;
  /** Where the message is in delivery, once known. */
  status?: Maybe<EmailMessageStatus>;
};

/** Where a send with an idempotency key stands. */
export type EmailSendState =
  /** A provider accepted the message. */
  | 'ACCEPTED'
  /**
   * The send failed after the provider may have taken the message, and no delivery webhook has
   * named it yet. It is not repeated with this key; send with a new key if it never arrives.
   */
  | 'OUTCOME_UNKNOWN'
  /** The send is still running. */
  | 'PENDING';

/** One change in a send's delivery. */
export type EmailSendUpdate = {
  __typename?: 'EmailSendUpdate';
  /** The event's id: pass it as `after` to resume after it. */
  eventId: Scalars['String']['output'];
  send: EmailSend;
};

export type Mutation = {
  __typename?: 'Mutation';
  /** Sends one email. The message is queued by the provider; delivery is reported on the message's status. */
  sendEmail: SendEmailPayload;
};


export type MutationSendEmailArgs = {
  input: SendEmailInput;
};

export type Query = {
  __typename?: 'Query';
  /**
   * What became of a sendEmail made with this idempotency key (your own keys, kept 24 hours);
   * null when none of your sends used it. After a send answered IDEMPOTENT_OUTCOME_UNKNOWN, this
   * says ACCEPTED, with the message, once the provider's delivery webhooks name it. Needs the
   * email:send scope.
   */
  emailSend?: Maybe<EmailSend>;
};


export type QueryEmailSendArgs = {
  idempotencyKey: Scalars['String']['input'];
};

/** One email to one address; text, html or both. */
export type SendEmailInput = {
  /** Up to 10 categories for reporting. */
  categories?: InputMaybe<Array<Scalars['String']['input']>>;
  /** HTML body. */
  html?: InputMaybe<Scalars['String']['input']>;
  /**
   * Makes the send happen at most once: the same key (per user, for 24 hours) returns the
   * first result and never sends again, also while the first is in flight or when it failed
   * after the provider may have taken it. The Idempotency-Key header sets it too.
   */
  idempotencyKey?: InputMaybe<Scalars['String']['input']>;
  subject: Scalars['String']['input'];
  /** Plain-text body. At least one of text and html is required. */
  text?: InputMaybe<Scalars['String']['input']>;
  /** Recipient address. */
  to: Scalars['String']['input'];
};

/** The accepted send: the provider's message id, our id of the send, and which provider took it. */
export type SendEmailPayload = {
  __typename?: 'SendEmailPayload';
  /** The provider's message id, once the provider accepted the message. */
  messageId: Scalars['ID']['output'];
  /** Which provider accepted the message. */
  provider: Scalars['String']['output'];
  /** Our own id of this send, also attached to the message as metadata. */
  sendId: Scalars['ID']['output'];
};

/** What a client can follow as it happens, pushed over GraphQL over SSE or WebSocket. */
export type Subscription = {
  __typename?: 'Subscription';
  /**
   * Your messages as their delivery moves on (DELIVERED, OPENED, BOUNCED...), as the providers'
   * delivery webhooks tell it: every message sent to your address (the verified email your token
   * carries), or only the one `messageId` names. With the admin scope, anyone's (one message, or
   * all). Resume with `after` as emailSendUpdated does. FORBIDDEN for a token without an email.
   */
  emailMessageUpdated: EmailMessageUpdate;
  /**
   * What becomes of a sendEmail made with this idempotency key (your own keys), as the provider's
   * delivery webhooks tell it: an update for each delivery event (DELIVERED, OPENED, BOUNCED...),
   * in order, each once. Subscribe before or after sending. To resume after a reconnect, pass the
   * last `eventId` received as `after`: what came meanwhile comes first; RESYNC_REQUIRED when it is
   * older than what is kept (query emailSend, then subscribe without `after`). Needs the email:send
   * scope.
   */
  emailSendUpdated: EmailSendUpdate;
};


/** What a client can follow as it happens, pushed over GraphQL over SSE or WebSocket. */
export type SubscriptionEmailMessageUpdatedArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  messageId?: InputMaybe<Scalars['ID']['input']>;
};


/** What a client can follow as it happens, pushed over GraphQL over SSE or WebSocket. */
export type SubscriptionEmailSendUpdatedArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  idempotencyKey: Scalars['String']['input'];
};

export type User = {
  __typename?: 'User';
  email: Scalars['String']['output'];
  /** Whether mail to this user's address can be delivered; null when the provider cannot be reached. */
  emailDeliverability?: Maybe<EmailDeliverability>;
  /**
   * Messages sent to this user's address, newest first. `first` is 1 to 100.
   * Null (with an error) when the email provider cannot be reached.
   */
  emailMessages?: Maybe<Array<EmailMessage>>;
  id: Scalars['ID']['output'];
};


export type UserEmailMessagesArgs = {
  first?: InputMaybe<Scalars['Int']['input']>;
};

export type WithIndex<TObject> = TObject & Record<string, any>;
export type ResolversObject<TObject> = WithIndex<TObject>;

export type ResolverTypeWrapper<T> = Promise<T> | T;

export type ReferenceResolver<TResult, TReference, TContext> = (
      reference: TReference,
      context: TContext,
      info: GraphQLResolveInfo
    ) => Promise<TResult> | TResult;

      type ScalarCheck<T, S> = S extends true ? T : NullableCheck<T, S>;
      type NullableCheck<T, S> = Maybe<T> extends T ? Maybe<ListCheck<NonNullable<T>, S>> : ListCheck<T, S>;
      type ListCheck<T, S> = T extends (infer U)[] ? NullableCheck<U, S>[] : GraphQLRecursivePick<T, S>;
      export type GraphQLRecursivePick<T, S> = { [K in keyof T & keyof S]: ScalarCheck<T[K], S[K]> };
    

export type ResolverWithResolve<TResult, TParent, TContext, TArgs> = {
  resolve: ResolverFn<TResult, TParent, TContext, TArgs>;
};
export type Resolver<TResult, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = ResolverFn<TResult, TParent, TContext, TArgs> | ResolverWithResolve<TResult, TParent, TContext, TArgs>;

export type ResolverFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => Promise<TResult> | TResult;

export type SubscriptionSubscribeFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => AsyncIterable<TResult> | Promise<AsyncIterable<TResult>>;

export type SubscriptionResolveFn<TResult, TParent, TContext, TArgs> = (
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;

export interface SubscriptionSubscriberObject<TResult, TKey extends string, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<{ [key in TKey]: TResult }, TParent, TContext, TArgs>;
  resolve?: SubscriptionResolveFn<TResult, { [key in TKey]: TResult }, TContext, TArgs>;
}

export interface SubscriptionResolverObject<TResult, TParent, TContext, TArgs> {
  subscribe: SubscriptionSubscribeFn<any, TParent, TContext, TArgs>;
  resolve: SubscriptionResolveFn<TResult, any, TContext, TArgs>;
}

export type SubscriptionObject<TResult, TKey extends string, TParent, TContext, TArgs> =
  | SubscriptionSubscriberObject<TResult, TKey, TParent, TContext, TArgs>
  | SubscriptionResolverObject<TResult, TParent, TContext, TArgs>;

export type SubscriptionResolver<TResult, TKey extends string, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> =
  | ((...args: any[]) => SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>)
  | SubscriptionObject<TResult, TKey, TParent, TContext, TArgs>;

export type TypeResolveFn<TTypes, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (
  parent: TParent,
  context: TContext,
  info: GraphQLResolveInfo
) => Maybe<TTypes> | Promise<Maybe<TTypes>>;

export type IsTypeOfResolverFn<T = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>> = (obj: T, context: TContext, info: GraphQLResolveInfo) => boolean | Promise<boolean>;

export type NextResolverFn<T> = () => Promise<T>;

export type DirectiveResolverFn<TResult = Record<PropertyKey, never>, TParent = Record<PropertyKey, never>, TContext = Record<PropertyKey, never>, TArgs = Record<PropertyKey, never>> = (
  next: NextResolverFn<TResult>,
  parent: TParent,
  args: TArgs,
  context: TContext,
  info: GraphQLResolveInfo
) => TResult | Promise<TResult>;

/** Mapping of federation types */
export type FederationTypes = ResolversObject<{
  User: User;
}>;

/** Mapping of federation reference types */
export type FederationReferenceTypes = ResolversObject<{
  User:
    ( { __typename: 'User' }
    & GraphQLRecursivePick<FederationTypes['User'], {"id":true}>
    & ( Record<PropertyKey, never>
        | GraphQLRecursivePick<FederationTypes['User'], {"email":true}>
        | GraphQLRecursivePick<FederationTypes['User'], {"email":true}>
        | GraphQLRecursivePick<FederationTypes['User'], {"email":true}> ) );
}>;



/** Mapping between all available schema types and the resolvers types */
export type ResolversTypes = ResolversObject<{
  CacheControlScope: CacheControlScope;
  DateTime: ResolverTypeWrapper<Scalars['DateTime']['output']>;
  EmailDeliverability: EmailDeliverability;
  EmailMessage: ResolverTypeWrapper<EmailMessage>;
  String: ResolverTypeWrapper<Scalars['String']['output']>;
  ID: ResolverTypeWrapper<Scalars['ID']['output']>;
  EmailMessageStatus: EmailMessageStatus;
  EmailMessageUpdate: ResolverTypeWrapper<EmailMessageUpdate>;
  EmailSend: ResolverTypeWrapper<EmailSend>;
  EmailSendState: EmailSendState;
  EmailSendUpdate: ResolverTypeWrapper<EmailSendUpdate>;
  Mutation: ResolverTypeWrapper<Record<PropertyKey, never>>;
  Query: ResolverTypeWrapper<Record<PropertyKey, never>>;
  SendEmailInput: SendEmailInput;
  SendEmailPayload: ResolverTypeWrapper<SendEmailPayload>;
  Subscription: ResolverTypeWrapper<Record<PropertyKey, never>>;
  User: ResolverTypeWrapper<UserReference>;
  Boolean: ResolverTypeWrapper<Scalars['Boolean']['output']>;
  Int: ResolverTypeWrapper<Scalars['Int']['output']>;
}>;

/** Mapping between all available schema types and the resolvers parents */
export type ResolversParentTypes = ResolversObject<{
  DateTime: Scalars['DateTime']['output'];
  EmailMessage: EmailMessage;
  String: Scalars['String']['output'];
  ID: Scalars['ID']['output'];
  EmailMessageUpdate: EmailMessageUpdate;
  EmailSend: EmailSend;
  EmailSendUpdate: EmailSendUpdate;
  Mutation: Record<PropertyKey, never>;
  Query: Record<PropertyKey, never>;
  SendEmailInput: SendEmailInput;
  SendEmailPayload: SendEmailPayload;
  Subscription: Record<PropertyKey, never>;
  User: UserReference;
  Boolean: Scalars['Boolean']['output'];
  Int: Scalars['Int']['output'];
}>;

export type CacheControlDirectiveArgs = {
  inheritMaxAge?: Maybe<Scalars['Boolean']['input']>;
  maxAge?: Maybe<Scalars['Int']['input']>;
  scope?: Maybe<CacheControlScope>;
};

export type CacheControlDirectiveResolver<Result, Parent, ContextType = Context, Args = CacheControlDirectiveArgs> = DirectiveResolverFn<Result, Parent, ContextType, Args>;

export interface DateTimeScalarConfig extends GraphQLScalarTypeConfig<ResolversTypes['DateTime'], any> {
  name: 'DateTime';
}

export type EmailMessageResolvers<ContextType = Context, ParentType extends ResolversParentTypes['EmailMessage'] = ResolversParentTypes['EmailMessage']> = ResolversObject<{
  clicks?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  from?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  lastEventAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  opens?: Resolver<ResolversTypes['Int'], ParentType, ContextType>;
  status?: Resolver<ResolversTypes['EmailMessageStatus'], ParentType, ContextType>;
  subject?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  to?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
}>;

export type EmailMessageUpdateResolvers<ContextType = Context, ParentType extends ResolversParentTypes['EmailMessageUpdate'] = ResolversParentTypes['EmailMessageUpdate']> = ResolversObject<{
  eventId?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  messageId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  provider?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  status?: Resolver<ResolversTypes['EmailMessageStatus'], ParentType, ContextType>;
}>;

export type EmailSendResolvers<ContextType = Context, ParentType extends ResolversParentTypes['EmailSend'] = ResolversParentTypes['EmailSend']> = ResolversObject<{
  idempotencyKey?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  messageId?: Resolver<Maybe<ResolversTypes['ID']>, ParentType, ContextType>;
  provider?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  sendId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  state?: Resolver<ResolversTypes['EmailSendState'], ParentType, ContextType>;
  status?: Resolver<Maybe<ResolversTypes['EmailMessageStatus']>, ParentType, ContextType>;
}>;

export type EmailSendUpdateResolvers<ContextType = Context, ParentType extends ResolversParentTypes['EmailSendUpdate'] = ResolversParentTypes['EmailSendUpdate']> = ResolversObject<{
  eventId?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  send?: Resolver<ResolversTypes['EmailSend'], ParentType, ContextType>;
}>;

export type MutationResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Mutation'] = ResolversParentTypes['Mutation']> = ResolversObject<{
  sendEmail?: Resolver<ResolversTypes['SendEmailPayload'], ParentType, ContextType, RequireFields<MutationSendEmailArgs, 'input'>>;
}>;

export type QueryResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Query'] = ResolversParentTypes['Query']> = ResolversObject<{
  emailSend?: Resolver<Maybe<ResolversTypes['EmailSend']>, ParentType, ContextType, RequireFields<QueryEmailSendArgs, 'idempotencyKey'>>;
}>;

export type SendEmailPayloadResolvers<ContextType = Context, ParentType extends ResolversParentTypes['SendEmailPayload'] = ResolversParentTypes['SendEmailPayload']> = ResolversObject<{
  messageId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  provider?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  sendId?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
}>;

export type SubscriptionResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Subscription'] = ResolversParentTypes['Subscription']> = ResolversObject<{
  emailMessageUpdated?: SubscriptionResolver<ResolversTypes['EmailMessageUpdate'], "emailMessageUpdated", ParentType, ContextType, Partial<SubscriptionEmailMessageUpdatedArgs>>;
  emailSendUpdated?: SubscriptionResolver<ResolversTypes['EmailSendUpdate'], "emailSendUpdated", ParentType, ContextType, RequireFields<SubscriptionEmailSendUpdatedArgs, 'idempotencyKey'>>;
}>;

export type UserResolvers<ContextType = Context, ParentType extends ResolversParentTypes['User'] = ResolversParentTypes['User'], FederationReferenceType extends FederationReferenceTypes['User'] = FederationReferenceTypes['User']> = ResolversObject<{
  __resolveReference?: ReferenceResolver<Maybe<ResolversTypes['User']> | FederationReferenceType, FederationReferenceType, ContextType>;
  emailDeliverability?: Resolver<Maybe<ResolversTypes['EmailDeliverability']>, ParentType, ContextType>;
  emailMessages?: Resolver<Maybe<Array<ResolversTypes['EmailMessage']>>, ParentType, ContextType, RequireFields<UserEmailMessagesArgs, 'first'>>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
}>;

export type Resolvers<ContextType = Context> = ResolversObject<{
  DateTime?: GraphQLScalarType;
  EmailMessage?: EmailMessageResolvers<ContextType>;
  EmailMessageUpdate?: EmailMessageUpdateResolvers<ContextType>;
  EmailSend?: EmailSendResolvers<ContextType>;
  EmailSendUpdate?: EmailSendUpdateResolvers<ContextType>;
  Mutation?: MutationResolvers<ContextType>;
  Query?: QueryResolvers<ContextType>;
  SendEmailPayload?: SendEmailPayloadResolvers<ContextType>;
  Subscription?: SubscriptionResolvers<ContextType>;
  User?: UserResolvers<ContextType>;
}>;

export type DirectiveResolvers<ContextType = Context> = ResolversObject<{
  cacheControl?: CacheControlDirectiveResolver<any, any, ContextType>;
}>;
