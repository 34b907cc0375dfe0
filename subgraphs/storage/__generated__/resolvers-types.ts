import type { GraphQLResolveInfo, GraphQLScalarType, GraphQLScalarTypeConfig } from 'graphql';
import type { FileRecord, Context } from '../loaders.js';
export type Maybe<T> = T | null;
export type InputMaybe<T> = Maybe<T>;
export type Omit<T, K extends keyof T> = Pick<T, Exclude<keyof T, K>>;
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

/** The file an upload URL is for. */
export type CreateUploadUrlInput = {
  /** Media type the upload will be sent with: one the server allows (images, PDF, text, office documents by default). */
  contentType: Scalars['String']['input'];
  /** File name, 1 to 255 characters: no slash, control character, or invisible or bidirectional formatting character. */
  fileName: Scalars['String']['input'];
  /** Size of the upload in bytes, at most the server's limit (25 MiB by default). Storage refuses a body of any other size. */
  size: Scalars['Float']['input'];
  /** Owner of the file. */
  userId: Scalars['ID']['input'];
};

/** A stored file. */
export type File = {
  __typename?: 'File';
  /** Media type recorded when the file was uploaded. */
  contentType?: Maybe<Scalars['String']['output']>;
  /**
   * A short-lived URL that downloads the file; valid for the number of seconds the server is
   * configured with (15 minutes by default). Images, video, audio and PDF open in the browser;
   * every other file downloads as an attachment.
   */
  downloadUrl: Scalars['String']['output'];
  /** Object key in the bucket; stable, unique. */
  key: Scalars['ID']['output'];
  lastModified: Scalars['DateTime']['output'];
  /** File name as the user gave it. */
  name: Scalars['String']['output'];
  /** Size in bytes. */
  size: Scalars['Float']['output'];
};

/** A page of files. */
export type FileConnection = {
  __typename?: 'FileConnection';
  nodes: Array<File>;
  pageInfo: PageInfo;
};

/** One HTTP header. */
export type HttpHeader = {
  __typename?: 'HttpHeader';
  name: Scalars['String']['output'];
  value: Scalars['String']['output'];
};

export type Mutation = {
  __typename?: 'Mutation';
  /** A presigned URL to upload one file of the declared type and size straight to storage with an HTTP PUT. */
  createUploadUrl: UploadUrl;
};


export type MutationCreateUploadUrlArgs = {
  input: CreateUploadUrlInput;
};

/** Where a page ends and whether another follows. */
export type PageInfo = {
  __typename?: 'PageInfo';
  /** Cursor of the last item of the page; pass it as `after` for the next page. */
  endCursor?: Maybe<Scalars['String']['output']>;
  hasNextPage: Scalars['Boolean']['output'];
};

/** A file that was stored. */
export type StoredObjectCreated = {
  __typename?: 'StoredObjectCreated';
  /** The event's id: pass it as `after` to resume after it. */
  eventId: Scalars['String']['output'];
  file: File;
  /** Whose folder the file is in. */
  owner: User;
};

/** What a client can follow as it happens, pushed over GraphQL over SSE or WebSocket. */
export type Subscription = {
  __typename?: 'Subscription';
  /**
   * Files as uploads complete in a user's folder (your own by default; another user's needs the
   * admin scope), as the bucket's event notifications tell them: each once, in order. Subscribe
   * before uploading (createUploadUrl) and the file arrives when the upload is stored. To resume
   * after a reconnect, pass the last `eventId` received as `after`: what came meanwhile comes
   * first; RESYNC_REQUIRED when it is older than what is kept (list `files` again, then subscribe
   * without `after`).
   */
  storedObjectCreated: StoredObjectCreated;
};


/** What a client can follow as it happens, pushed over GraphQL over SSE or WebSocket. */
export type SubscriptionStoredObjectCreatedArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
  userId?: InputMaybe<Scalars['ID']['input']>;
};

/** Where and how to upload a file. */
export type UploadUrl = {
  __typename?: 'UploadUrl';
  expiresAt: Scalars['DateTime']['output'];
  /** Headers the upload must carry exactly, as they are part of the signature. */
  headers: Array<HttpHeader>;
  /** Key the file will have once uploaded. */
  key: Scalars['ID']['output'];
  /** Always PUT. */
  method: Scalars['String']['output'];
  url: Scalars['String']['output'];
};

export type User = {
  __typename?: 'User';
  /** The user's files, by key order, a page at a time. `first` is 1 to 100. Null when storage cannot be reached. */
  files?: Maybe<FileConnection>;
  id: Scalars['ID']['output'];
  /** Total size of the user's files in bytes; null when storage cannot be reached. */
  storageUsedBytes?: Maybe<Scalars['Float']['output']>;
};


export type UserFilesArgs = {
  after?: InputMaybe<Scalars['String']['input']>;
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
    & GraphQLRecursivePick<FederationTypes['User'], {"id":true}> );
}>;



/** Mapping between all available schema types and the resolvers types */
export type ResolversTypes = ResolversObject<{
  CacheControlScope: CacheControlScope;
  CreateUploadUrlInput: CreateUploadUrlInput;
  String: ResolverTypeWrapper<Scalars['String']['output']>;
  Float: ResolverTypeWrapper<Scalars['Float']['output']>;
  ID: ResolverTypeWrapper<Scalars['ID']['output']>;
  DateTime: ResolverTypeWrapper<Scalars['DateTime']['output']>;
  File: ResolverTypeWrapper<FileRecord>;
  FileConnection: ResolverTypeWrapper<Omit<FileConnection, 'nodes'> & { nodes: Array<ResolversTypes['File']> }>;
  HttpHeader: ResolverTypeWrapper<HttpHeader>;
  Mutation: ResolverTypeWrapper<Record<PropertyKey, never>>;
  PageInfo: ResolverTypeWrapper<PageInfo>;
  StoredObjectCreated: ResolverTypeWrapper<Omit<StoredObjectCreated, 'file' | 'owner'> & { file: ResolversTypes['File'], owner: ResolversTypes['User'] }>;
  Subscription: ResolverTypeWrapper<Record<PropertyKey, never>>;
  UploadUrl: ResolverTypeWrapper<UploadUrl>;
  User: ResolverTypeWrapper<Omit<User, 'files'> & { files?: Maybe<ResolversTypes['FileConnection']> }>;
  Boolean: ResolverTypeWrapper<Scalars['Boolean']['output']>;
  Int: ResolverTypeWrapper<Scalars['Int']['output']>;
}>;

/** Mapping between all available schema types and the resolvers parents */
export type ResolversParentTypes = ResolversObject<{
  CreateUploadUrlInput: CreateUploadUrlInput;
  String: Scalars['String']['output'];
  Float: Scalars['Float']['output'];
  ID: Scalars['ID']['output'];
  DateTime: Scalars['DateTime']['output'];
  File: FileRecord;
  FileConnection: Omit<FileConnection, 'nodes'> & { nodes: Array<ResolversParentTypes['File']> };
  HttpHeader: HttpHeader;
  Mutation: Record<PropertyKey, never>;
  PageInfo: PageInfo;
  StoredObjectCreated: Omit<StoredObjectCreated, 'file' | 'owner'> & { file: ResolversParentTypes['File'], owner: ResolversParentTypes['User'] };
  Subscription: Record<PropertyKey, never>;
  UploadUrl: UploadUrl;
  User: Omit<User, 'files'> & { files?: Maybe<ResolversParentTypes['FileConnection']> } | FederationReferenceTypes['User'];
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

export type FileResolvers<ContextType = Context, ParentType extends ResolversParentTypes['File'] = ResolversParentTypes['File']> = ResolversObject<{
  contentType?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  downloadUrl?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  key?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  lastModified?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  size?: Resolver<ResolversTypes['Float'], ParentType, ContextType>;
}>;

export type FileConnectionResolvers<ContextType = Context, ParentType extends ResolversParentTypes['FileConnection'] = ResolversParentTypes['FileConnection']> = ResolversObject<{
  nodes?: Resolver<Array<ResolversTypes['File']>, ParentType, ContextType>;
  pageInfo?: Resolver<ResolversTypes['PageInfo'], ParentType, ContextType>;
}>;

export type HttpHeaderResolvers<ContextType = Context, ParentType extends ResolversParentTypes['HttpHeader'] = ResolversParentTypes['HttpHeader']> = ResolversObject<{
  name?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  value?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
}>;

export type MutationResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Mutation'] = ResolversParentTypes['Mutation']> = ResolversObject<{
  createUploadUrl?: Resolver<ResolversTypes['UploadUrl'], ParentType, ContextType, RequireFields<MutationCreateUploadUrlArgs, 'input'>>;
}>;

export type PageInfoResolvers<ContextType = Context, ParentType extends ResolversParentTypes['PageInfo'] = ResolversParentTypes['PageInfo']> = ResolversObject<{
  endCursor?: Resolver<Maybe<ResolversTypes['String']>, ParentType, ContextType>;
  hasNextPage?: Resolver<ResolversTypes['Boolean'], ParentType, ContextType>;
}>;

export type StoredObjectCreatedResolvers<ContextType = Context, ParentType extends ResolversParentTypes['StoredObjectCreated'] = ResolversParentTypes['StoredObjectCreated']> = ResolversObject<{
  eventId?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  file?: Resolver<ResolversTypes['File'], ParentType, ContextType>;
  owner?: Resolver<ResolversTypes['User'], ParentType, ContextType>;
}>;

export type SubscriptionResolvers<ContextType = Context, ParentType extends ResolversParentTypes['Subscription'] = ResolversParentTypes['Subscription']> = ResolversObject<{
  storedObjectCreated?: SubscriptionResolver<ResolversTypes['StoredObjectCreated'], "storedObjectCreated", ParentType, ContextType, Partial<SubscriptionStoredObjectCreatedArgs>>;
}>;

export type UploadUrlResolvers<ContextType = Context, ParentType extends ResolversParentTypes['UploadUrl'] = ResolversParentTypes['UploadUrl']> = ResolversObject<{
  expiresAt?: Resolver<ResolversTypes['DateTime'], ParentType, ContextType>;
  headers?: Resolver<Array<ResolversTypes['HttpHeader']>, ParentType, ContextType>;
  key?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  method?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
  url?: Resolver<ResolversTypes['String'], ParentType, ContextType>;
}>;

export type UserResolvers<ContextType = Context, ParentType extends ResolversParentTypes['User'] = ResolversParentTypes['User'], FederationReferenceType extends FederationReferenceTypes['User'] = FederationReferenceTypes['User']> = ResolversObject<{
  __resolveReference?: ReferenceResolver<Maybe<ResolversTypes['User']> | FederationReferenceType, FederationReferenceType, ContextType>;
  files?: Resolver<Maybe<ResolversTypes['FileConnection']>, ParentType, ContextType, RequireFields<UserFilesArgs, 'first'>>;
  id?: Resolver<ResolversTypes['ID'], ParentType, ContextType>;
  storageUsedBytes?: Resolver<Maybe<ResolversTypes['Float']>, ParentType, ContextType>;
}>;

export type Resolvers<ContextType = Context> = ResolversObject<{
  DateTime?: GraphQLScalarType;
  File?: FileResolvers<ContextType>;
  FileConnection?: FileConnectionResolvers<ContextType>;
  HttpHeader?: HttpHeaderResolvers<ContextType>;
  Mutation?: MutationResolvers<ContextType>;
  PageInfo?: PageInfoResolvers<ContextType>;
  StoredObjectCreated?: StoredObjectCreatedResolvers<ContextType>;
  Subscription?: SubscriptionResolvers<ContextType>;
  UploadUrl?: UploadUrlResolvers<ContextType>;
  User?: UserResolvers<ContextType>;
}>;

export type DirectiveResolvers<ContextType = Context> = ResolversObject<{
  cacheControl?: CacheControlDirectiveResolver<any, any, ContextType>;
}>;
